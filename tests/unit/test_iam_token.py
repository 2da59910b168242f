"""The RDS IAM token minted without boto3 is the token boto3 mints: same credentials, same instant, same bytes."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import botocore.auth
import pytest

from threadline.aws.sigv4 import AwsCredentials, current_credentials
from threadline.config import Settings
from threadline.db.connection import app_connection_params
from threadline.db.iam_token import rds_auth_token

SIGNED_AT = datetime(2026, 2, 1, 10, 30, 5, tzinfo=UTC)


def boto3_token(credentials: AwsCredentials, *, host: str, port: int, user: str, region: str, monkeypatch) -> str:
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: SIGNED_AT.replace(tzinfo=None))
    # botocore's own Python signer, the one a Lambda runtime uses (awscrt, which this venv has for dev tools and
    # which orders the query differently, is not in the layer).
    monkeypatch.setitem(botocore.auth.AUTH_TYPE_MAPS, "v4-query", botocore.auth.SigV4QueryAuth)
    client = boto3.session.Session(
        aws_access_key_id=credentials.access_key_id,
        aws_secret_access_key=credentials.secret_access_key,
        aws_session_token=credentials.session_token,
    ).client("rds", region_name=region)
    return client.generate_db_auth_token(DBHostname=host, Port=port, DBUsername=user, Region=region)


@pytest.mark.parametrize(
    ("credentials", "host", "port", "user", "region"),
    [
        # A Lambda role's temporary credentials: the session token's "/" and "+" must be percent-encoded.
        (
            AwsCredentials("ASIAEXAMPLEKEY123456", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "IQoJb3/Jp+Z2luX2V=="),
            "threadline-dev.proxy-c1a2b3c4d5e6.eu-west-1.rds.amazonaws.com",
            5432,
            "threadline_app",
            "eu-west-1",
        ),
        # Long-term keys (no session token), a mixed-case host, an odd user name, https' default port.
        (
            AwsCredentials("AKIAEXAMPLEKEY654321", "secret+with/odd=chars"),
            "DB.Example.internal",
            443,
            "app user@x",
            "us-east-1",
        ),
    ],
)
def test_the_token_is_byte_for_byte_the_one_boto3_mints(credentials, host, port, user, region, monkeypatch):
    expected = boto3_token(credentials, host=host, port=port, user=user, region=region, monkeypatch=monkeypatch)
    minted = rds_auth_token(host=host, port=port, user=user, region=region, credentials=credentials, now=SIGNED_AT)
    assert minted == expected


def test_a_different_instant_or_secret_changes_the_signature():
    credentials = AwsCredentials("ASIAEXAMPLEKEY123456", "secret", "token")
    base = {"host": "db", "port": 5432, "user": "threadline_app", "region": "us-east-1"}
    token = rds_auth_token(**base, credentials=credentials, now=SIGNED_AT)
    later = rds_auth_token(**base, credentials=credentials, now=SIGNED_AT.replace(second=6))
    other_secret = rds_auth_token(
        **base, credentials=AwsCredentials("ASIAEXAMPLEKEY123456", "other", "token"), now=SIGNED_AT
    )
    assert len({token, later, other_secret}) == 3


def test_lambda_credentials_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ASIAFROMTHEENVIRONMENT")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "environment-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "environment-session")
    assert current_credentials() == AwsCredentials(
        "ASIAFROMTHEENVIRONMENT", "environment-secret", "environment-session"
    )
    assert "environment-secret" not in repr(current_credentials())


def test_an_iam_connect_uses_a_freshly_minted_token_over_tls(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ASIAFROMTHEENVIRONMENT")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "environment-secret")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    settings = Settings.model_validate(
        {"DB_HOST": "proxy.example", "DB_IAM_AUTH": "true", "AWS_REGION": "eu-west-1", "DB_USER": "threadline_app"}
    )
    params = app_connection_params(settings)
    assert params["sslmode"] == "require"
    assert params["password"].startswith("proxy.example:5432/?Action=connect&DBUser=threadline_app&")
    assert "X-Amz-Credential=ASIAFROMTHEENVIRONMENT%2F" in params["password"]
    assert "%2Feu-west-1%2Frds-db%2Faws4_request" in params["password"]
