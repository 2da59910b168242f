"""Real-time fan-out: frames pushed to WebSocket subscribers after writes commit (events: their shapes;
publisher: who gets them, through API Gateway's management API)."""
