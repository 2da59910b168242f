"""Amazon Bedrock: the Converse client and the model settings (an adapter, like meta/)."""
