"""Business rules. Nothing here knows about API Gateway events or SQL text."""
