"""The Secrets Manager call signed with the standard library carries the signature botocore computes for it."""

from __future__ import annotations

from datetime import UTC, datetime

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest

from threadline.aws.secrets import signed_request_headers
from threadline.aws.sigv4 import AwsCredentials

SIGNED_AT = datetime(2026, 2, 1, 10, 30, 5, tzinfo=UTC)
BODY = b'{"SecretId": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:threadline/dev/meta-AbCdEf"}'


def botocore_authorization(url: str, headers: dict[str, str], credentials: AwsCredentials, region: str, monkeypatch):
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: SIGNED_AT.replace(tzinfo=None))
    unsigned = {name: value for name, value in headers.items() if name not in ("Authorization", "X-Amz-Date")}
    unsigned.pop("X-Amz-Security-Token", None)  # botocore adds it itself, from the credentials
    request = botocore.awsrequest.AWSRequest(method="POST", url=url, data=BODY, headers=unsigned)
    signer = botocore.auth.SigV4Auth(
        botocore.credentials.Credentials(
            credentials.access_key_id, credentials.secret_access_key, credentials.session_token
        ),
        "secretsmanager",
        region,
    )
    signer.add_auth(request)
    return request.headers["Authorization"], request.headers["X-Amz-Date"]


@pytest.mark.parametrize(
    ("credentials", "url", "region"),
    [
        (
            AwsCredentials("ASIAEXAMPLEKEY123456", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "IQoJb3/Jp+Z2luX2V=="),
            "https://secretsmanager.eu-west-1.amazonaws.com/",
            "eu-west-1",
        ),
        (AwsCredentials("AKIAEXAMPLEKEY654321", "secret+with/odd=chars"), "http://127.0.0.1:4566/", "us-east-1"),
    ],
)
def test_the_signature_is_the_one_botocore_computes(credentials, url, region, monkeypatch):
    headers = signed_request_headers(url=url, body=BODY, region=region, credentials=credentials, now=SIGNED_AT)

    expected, expected_date = botocore_authorization(url, headers, credentials, region, monkeypatch)

    assert headers["X-Amz-Date"] == expected_date
    assert headers["Authorization"] == expected
    assert ("X-Amz-Security-Token" in headers) == (credentials.session_token is not None)


def test_another_body_or_instant_changes_the_signature():
    credentials = AwsCredentials("ASIAEXAMPLEKEY123456", "secret", "token")
    base = signed_request_headers(
        url="https://x/", body=BODY, region="us-east-1", credentials=credentials, now=SIGNED_AT
    )
    other_body = signed_request_headers(
        url="https://x/", body=BODY + b" ", region="us-east-1", credentials=credentials, now=SIGNED_AT
    )
    later = signed_request_headers(
        url="https://x/", body=BODY, region="us-east-1", credentials=credentials, now=SIGNED_AT.replace(second=6)
    )
    assert len({base["Authorization"], other_body["Authorization"], later["Authorization"]}) == 3
