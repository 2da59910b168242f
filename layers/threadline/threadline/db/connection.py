"""One psycopg 3 connection per warm Lambda container, reopened after a failure.

Functions connect as `threadline_app` (no table ownership, no BYPASSRLS): every tenant-owned row they touch is
filtered by Row Level Security. Migrations and the admin CLI use the owner connection (`admin_connection`).
"""

from __future__ import annotations

import threading
from typing import Any

import psycopg

from threadline.aws.secrets import get_json_secret
from threadline.aws.sigv4 import current_credentials
from threadline.config import Settings, get_settings
from threadline.db.iam_token import rds_auth_token
from threadline.db.timestamps import read_any_timestamp

# One connection per thread: in Lambda that is one per container (one request at a time); the local gateway
# serves concurrent requests on threads, each then behaving like its own warm container.
_per_thread = threading.local()


def _rds_iam_token(settings: Settings) -> str:
    assert settings.db_host is not None
    return rds_auth_token(
        host=settings.db_host,
        port=settings.db_port,
        user=settings.db_user,
        region=settings.aws_region,
        credentials=current_credentials(),
    )


def _password_from_secret(settings: Settings) -> str:
    """The application role's password from its secret, read as the Meta secret is (one signed GetSecretValue, no
    boto3 client on the first request) and cached there (SnapStart's after-restore hook clears that cache, so a
    restored container reads the secret again)."""
    assert settings.db_password_secret_arn is not None
    secret: Any = get_json_secret(
        settings.db_password_secret_arn, max_age_seconds=settings.db_password_secret_max_age_seconds
    )
    return str(secret["password"])


def app_connection_params(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for psycopg.connect() as the application role."""
    params: dict[str, Any] = {"connect_timeout": settings.db_connect_timeout_seconds, "application_name": "threadline"}
    if settings.database_url:
        # The URL names the owner; functions always run as the unprivileged application role.
        params |= {"conninfo": settings.database_url, "user": settings.db_user}
        if settings.db_password:
            params["password"] = settings.db_password.get_secret_value()
        return params
    params |= {"host": settings.db_host, "port": settings.db_port, "dbname": settings.db_name, "user": settings.db_user}
    if settings.db_iam_auth:
        params |= {"password": _rds_iam_token(settings), "sslmode": "require"}
    elif settings.db_password_secret_arn:
        params["password"] = _password_from_secret(settings)
    elif settings.db_password:
        params["password"] = settings.db_password.get_secret_value()
    if settings.db_sslmode:
        params["sslmode"] = settings.db_sslmode
    return params


def app_connection() -> psycopg.Connection[Any]:
    """The container's connection, opened on first use and reopened when the last one broke or was closed."""
    connection: psycopg.Connection[Any] | None = getattr(_per_thread, "connection", None)
    if connection is None or connection.closed or connection.broken:
        connection = psycopg.connect(**app_connection_params(get_settings()))
        read_any_timestamp(connection)
        _per_thread.connection = connection
    return connection


def discard_app_connection() -> None:
    """Drop the container's connection after a failure, so the next use reconnects."""
    connection: psycopg.Connection[Any] | None = getattr(_per_thread, "connection", None)
    _per_thread.connection = None
    if connection is not None:
        connection.close()


def admin_connection(database_url: str | None = None, **kwargs: Any) -> psycopg.Connection[Any]:
    """A connection as the schema owner, for migrations and administration (never used by request handlers)."""
    url = database_url or get_settings().database_url
    if not url:
        raise RuntimeError("DATABASE_URL must name the owner's database for administrative connections")
    return psycopg.connect(url, **kwargs)
