"""Development-only tools: embedded PostgreSQL, the local API gateway, the admin CLI.

Nothing here ships in the Lambda layer (SAM builds the layer from layers/threadline/ only).
"""
