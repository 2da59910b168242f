"""The media queue's SendMessageBatch, signed with the standard library, carries the signature botocore computes."""

from __future__ import annotations

from datetime import UTC, datetime

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest

from threadline.aws.sigv4 import AwsCredentials
from threadline.aws.sqs import _signed_headers, region_of

SIGNED_AT = datetime(2026, 2, 1, 10, 30, 5, tzinfo=UTC)
BODY = b'{"QueueUrl": "https://sqs.eu-west-1.amazonaws.com/123456789012/media", "Entries": []}'


@pytest.mark.parametrize(
    ("credentials", "url", "region"),
    [
        (
            AwsCredentials("ASIAEXAMPLEKEY123456", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "IQoJb3/Jp+Z2luX2V=="),
            "https://sqs.eu-west-1.amazonaws.com/",
            "eu-west-1",
        ),
        (AwsCredentials("AKIAEXAMPLEKEY654321", "secret+with/odd=chars"), "http://127.0.0.1:4566/", "us-east-1"),
    ],
)
def test_the_signature_is_the_one_botocore_computes(credentials, url, region, monkeypatch):
    headers = _signed_headers(url=url, body=BODY, region=region, credentials=credentials, now=SIGNED_AT)

    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: SIGNED_AT.replace(tzinfo=None))
    unsigned = {k: v for k, v in headers.items() if k not in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token")}
    request = botocore.awsrequest.AWSRequest(method="POST", url=url, data=BODY, headers=unsigned)
    botocore.auth.SigV4Auth(
        botocore.credentials.Credentials(
            credentials.access_key_id, credentials.secret_access_key, credentials.session_token
        ),
        "sqs",
        region,
    ).add_auth(request)

    assert headers["Authorization"] == request.headers["Authorization"]
    assert headers["X-Amz-Date"] == request.headers["X-Amz-Date"]


def test_the_region_is_the_queue_urls():
    assert region_of("https://sqs.ap-southeast-2.amazonaws.com/123456789012/media") == "ap-southeast-2"
