"""AWS request signing and the few AWS APIs the layer calls with the standard library (no boto3 at cold start)."""
