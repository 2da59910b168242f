"""The media bucket's presigned GET, signed with the standard library, is the URL boto3 presigns: same credentials,
same instant, same parameters, same signature. And its presigned POST's policy is one S3 accepts (moto checks it)."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit

import boto3
import botocore.auth
import pytest
from botocore.config import Config

from threadline.aws.s3 import MediaBucket
from threadline.aws.sigv4 import AwsCredentials

SIGNED_AT = datetime(2026, 2, 1, 10, 30, 5, tzinfo=UTC)
TEMPORARY = AwsCredentials("ASIAEXAMPLEKEY123456", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "IQoJb3/Jp+Z2luX2V==")
LONG_TERM = AwsCredentials("AKIAEXAMPLEKEY654321", "secret+with/odd=chars")


def boto3_presigned_get(bucket: MediaBucket, credentials: AwsCredentials, key: str, params: dict, monkeypatch) -> str:
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: SIGNED_AT.replace(tzinfo=None))
    # botocore's own Python signer, the one a Lambda runtime has (awscrt orders the query differently).
    monkeypatch.setitem(botocore.auth.AUTH_TYPE_MAPS, "s3v4-query", botocore.auth.S3SigV4QueryAuth)
    client = boto3.session.Session(
        aws_access_key_id=credentials.access_key_id,
        aws_secret_access_key=credentials.secret_access_key,
        aws_session_token=credentials.session_token,
    ).client(
        "s3",
        region_name=bucket.region,
        endpoint_url=bucket.endpoint_url,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path" if bucket.endpoint_url else "virtual"},
        ),
    )
    return client.generate_presigned_url(
        "get_object", Params={"Bucket": bucket.name, "Key": key, **params}, ExpiresIn=300
    )


def parts(url: str) -> tuple[str, str, str, dict[str, str]]:
    split = urlsplit(url)
    return split.scheme, split.netloc, split.path, dict(parse_qsl(split.query, keep_blank_values=True))


@pytest.mark.parametrize(
    ("bucket", "credentials", "key"),
    [
        (MediaBucket("threadline-media-prod", "eu-west-1"), TEMPORARY, "0b6f4a8e/42/812"),
        (MediaBucket("threadline-media-dev", "us-east-1"), LONG_TERM, "t/1/2"),
        (MediaBucket("threadline-media-local", "us-east-1", "http://127.0.0.1:4566"), TEMPORARY, "a b/ü/ç+1"),
    ],
)
def test_the_presigned_get_is_the_one_boto3_signs(bucket, credentials, key, monkeypatch):
    disposition = "inline; filename=\"photo.jpg\"; filename*=UTF-8''f%C3%B6to.jpg"
    expected = boto3_presigned_get(
        bucket,
        credentials,
        key,
        {"ResponseContentDisposition": disposition, "ResponseContentType": "image/jpeg"},
        monkeypatch,
    )
    signed = bucket.presigned_get(
        key,
        expires_in=300,
        content_disposition=disposition,
        content_type="image/jpeg",
        credentials=credentials,
        now=SIGNED_AT,
    )
    assert parts(signed) == parts(expected)
    assert parts(signed)[3]["X-Amz-Signature"] == parts(expected)[3]["X-Amz-Signature"]


def test_the_presigned_post_states_the_policy_boto3_states_and_signs_it_as_boto3_does(monkeypatch):
    """moto does not enforce POST policies, so the policy is compared with boto3's (S3 enforces what it says: the
    key, the Content-Type and the size range), and the signature with boto3's over the same policy."""
    import base64
    import json

    from threadline.aws.sigv4 import sigv4_signature

    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: SIGNED_AT.replace(tzinfo=None))
    bucket = MediaBucket("threadline-media-prod", "eu-west-1")
    url, fields = bucket.presigned_post(
        "uploads/t/u1",
        expires_in=600,
        content_type="image/png",
        min_bytes=1,
        max_bytes=5 * 1024 * 1024,
        credentials=TEMPORARY,
        now=SIGNED_AT,
    )
    client = boto3.session.Session(
        aws_access_key_id=TEMPORARY.access_key_id,
        aws_secret_access_key=TEMPORARY.secret_access_key,
        aws_session_token=TEMPORARY.session_token,
    ).client("s3", region_name="eu-west-1", config=Config(signature_version="s3v4", s3={"addressing_style": "virtual"}))
    expected = client.generate_presigned_post(
        "threadline-media-prod",
        "uploads/t/u1",
        Fields={"Content-Type": "image/png"},
        Conditions=[{"Content-Type": "image/png"}, ["content-length-range", 1, 5 * 1024 * 1024]],
        ExpiresIn=600,
    )
    ours = json.loads(base64.b64decode(fields["policy"]))
    theirs = json.loads(base64.b64decode(expected["fields"]["policy"]))
    canonical = lambda conditions: sorted(json.dumps(c, sort_keys=True).lower() for c in conditions)  # noqa: E731
    assert ours["expiration"] == "2026-02-01T10:40:05Z"  # boto3 takes its own clock here; same format
    assert canonical(ours["conditions"]) == canonical(theirs["conditions"])
    assert {k.lower(): v for k, v in fields.items() if k not in ("policy", "x-amz-signature")} == {
        k.lower(): v for k, v in expected["fields"].items() if k not in ("policy", "x-amz-signature")
    }
    assert url == expected["url"]
    resigned = sigv4_signature(
        TEMPORARY, date="20260201", region="eu-west-1", service="s3", text=expected["fields"]["policy"]
    )
    assert resigned == expected["fields"]["x-amz-signature"]
