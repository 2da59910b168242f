"""An existing PostgreSQL without RDS Proxy: the functions log in as threadline_app with the password kept in the
Secrets Manager secret DB_PASSWORD_SECRET_ARN names (moto behind a local server that checks each request's SigV4
signature, as the stdlib client in threadline.aws.secrets signs it), read once per container and read again
after a SnapStart restore. The deployment rehearsal (tests/deploy) logs in this way against a server
that checks the password."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from threadline.config import Settings, get_settings
from threadline.db.connection import app_connection_params, discard_app_connection
from threadline.snapstart import run_after_restore_hooks

SECRET_NAME = "threadline/test/app-db"


@pytest.fixture
def app_password_secret(monkeypatch: pytest.MonkeyPatch, secrets_manager: Any) -> Iterator[Any]:
    """A secret holding the application role's password, and the settings of a function of the existing-database
    template shape (DB_HOST, no DATABASE_URL, no IAM)."""
    secrets = secrets_manager.client
    arn = secrets.create_secret(Name=SECRET_NAME, SecretString=json.dumps({"password": "first-password"}))["ARN"]
    monkeypatch.setenv("DB_PASSWORD_SECRET_ARN", arn)
    try:
        yield secrets
    finally:
        run_after_restore_hooks()  # no cached password outlives the server's state


def existing_database_settings(arn: str, **overrides: str) -> Settings:
    values = {"DB_HOST": "db.internal.example", "DB_PORT": "6432", "DB_NAME": "inbox", "DB_IAM_AUTH": "false"}
    return Settings.model_validate(values | {"DB_PASSWORD_SECRET_ARN": arn, "DB_SSLMODE": "require"} | overrides)


def test_the_connection_logs_in_with_the_password_from_the_secret(app_password_secret):
    arn = app_password_secret.describe_secret(SecretId=SECRET_NAME)["ARN"]

    params = app_connection_params(existing_database_settings(arn))

    assert params["password"] == "first-password"
    assert (params["host"], params["port"], params["dbname"], params["user"]) == (
        "db.internal.example",
        6432,
        "inbox",
        "threadline_app",
    )
    assert params["sslmode"] == "require"


def test_the_secret_is_read_once_per_container_and_again_after_a_restore(app_password_secret):
    arn = app_password_secret.describe_secret(SecretId=SECRET_NAME)["ARN"]
    settings = existing_database_settings(arn, DB_PASSWORD_SECRET_MAX_AGE_SECONDS="3600")
    assert app_connection_params(settings)["password"] == "first-password"

    app_password_secret.put_secret_value(SecretId=arn, SecretString=json.dumps({"password": "rotated-password"}))
    assert app_connection_params(settings)["password"] == "first-password"  # cached, as in a warm container

    run_after_restore_hooks()

    assert app_connection_params(settings)["password"] == "rotated-password"


def test_iam_authentication_wins_over_a_configured_secret(app_password_secret, monkeypatch):
    arn = app_password_secret.describe_secret(SecretId=SECRET_NAME)["ARN"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIATESTTESTTESTTEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret")

    params = app_connection_params(existing_database_settings(arn, DB_IAM_AUTH="true"))

    assert params["password"] != "first-password"
    assert "X-Amz-Signature=" in params["password"]  # an RDS IAM token
    assert params["sslmode"] == "require"


def test_a_function_of_the_existing_database_shape_connects_as_the_application_role(
    app_password_secret, database_url, monkeypatch
):
    # Given a function configured as in the existing-database shape, reaching the test server by host and port
    arn = app_password_secret.describe_secret(SecretId=SECRET_NAME)["ARN"]
    from devtools.postgres import LOCAL_APP_ROLE_PASSWORD

    app_password_secret.put_secret_value(SecretId=arn, SecretString=json.dumps({"password": LOCAL_APP_ROLE_PASSWORD}))
    server = psycopg.conninfo.conninfo_to_dict(database_url)
    monkeypatch.delenv("DATABASE_URL")
    monkeypatch.delenv("DB_PASSWORD")
    for name, value in {
        "DB_HOST": str(server.get("host")),
        "DB_PORT": str(server.get("port", "5432")),
        "DB_NAME": str(server["dbname"]),
        "DB_IAM_AUTH": "false",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    discard_app_connection()
    try:
        from threadline.db.connection import app_connection

        # When a request opens the container's connection
        connection = app_connection()

        # Then it is threadline_app's, on the configured database
        assert connection.execute("SELECT current_user, current_database()").fetchone() == (
            "threadline_app",
            server["dbname"],
        )
    finally:
        discard_app_connection()
        monkeypatch.undo()
        get_settings.cache_clear()
