"""Fixtures the integration tests share beyond tests/conftest.py."""

from tests.secrets_manager_server import secrets_manager  # noqa: F401 - Secrets Manager (moto) over real HTTP
