"""Workspace chat sessions: message capture and optional LLM replies."""
