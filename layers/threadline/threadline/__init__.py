"""Threadline's shared Lambda layer: configuration, data access, domain rules and HTTP contract mapping."""
