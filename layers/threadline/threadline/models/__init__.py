"""Pydantic models of the contracts' requests and responses."""
