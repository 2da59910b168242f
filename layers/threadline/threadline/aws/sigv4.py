"""AWS Signature Version 4 with the standard library: the credentials Lambda puts in the environment and SigV4's
signing step, shared by every request the layer signs itself (RDS IAM tokens in threadline.db.iam_token, Secrets
Manager calls in threadline.aws.secrets). Importing botocore's signer costs a fresh container about 85 ms; the
signature itself is four HMACs.

Credentials are read on every call, never cached: after a SnapStart restore the environment holds fresh keys.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

ALGORITHM = "AWS4-HMAC-SHA256"


@dataclass(frozen=True)
class AwsCredentials:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    def __repr__(self) -> str:  # never print the secret parts
        return f"AwsCredentials(access_key_id={self.access_key_id!r})"


def current_credentials() -> AwsCredentials:
    """The function role's credentials as Lambda provides them, else botocore's credential chain."""
    access_key_id = os.environ.get("AWS_ACCESS_KEY_ID")
    secret_access_key = os.environ.get("AWS_SECRET_ACCESS_KEY")
    if access_key_id and secret_access_key:
        return AwsCredentials(access_key_id, secret_access_key, os.environ.get("AWS_SESSION_TOKEN") or None)
    import botocore.session  # only off Lambda: profiles, SSO, instance metadata

    found = botocore.session.get_session().get_credentials()
    if found is None:
        raise RuntimeError("no AWS credentials to sign an RDS IAM authentication token with")
    frozen = found.get_frozen_credentials()
    return AwsCredentials(str(frozen.access_key), str(frozen.secret_key), frozen.token)


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def sigv4_signature(credentials: AwsCredentials, *, date: str, region: str, service: str, text: str) -> str:
    """SigV4's last step, shared by every request Threadline signs itself: the signing key derived for
    `date`/`region`/`service`, then the HMAC of the string to sign."""
    key = _hmac(f"AWS4{credentials.secret_access_key}".encode(), date)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def signed_json_headers(
    *,
    url: str,
    body: bytes,
    region: str,
    service: str,
    target: str,
    content_type: str,
    credentials: AwsCredentials,
    now: datetime | None = None,
) -> dict[str, str]:
    """The headers of a signed AWS JSON-protocol POST (`X-Amz-Target`) of `body` to `url`, every header signed:
    Secrets Manager's GetSecretValue, SQS's SendMessageBatch."""
    timestamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    headers = {"Content-Type": content_type, "Host": urlsplit(url).netloc, "X-Amz-Date": timestamp}
    headers["X-Amz-Target"] = target
    if credentials.session_token is not None:
        headers["X-Amz-Security-Token"] = credentials.session_token
    canonical = sorted((name.lower(), " ".join(value.split())) for name, value in headers.items())
    signed_names = ";".join(name for name, _ in canonical)
    canonical_request = "\n".join(
        [
            "POST",
            urlsplit(url).path or "/",
            "",  # no query string
            *(f"{name}:{value}" for name, value in canonical),
            "",
            signed_names,
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{timestamp[:8]}/{region}/{service}/aws4_request"
    string_to_sign = f"{ALGORITHM}\n{timestamp}\n{scope}\n{hashlib.sha256(canonical_request.encode()).hexdigest()}"
    signature = sigv4_signature(credentials, date=timestamp[:8], region=region, service=service, text=string_to_sign)
    headers["Authorization"] = (
        f"{ALGORITHM} Credential={credentials.access_key_id}/{scope}, SignedHeaders={signed_names},"
        f" Signature={signature}"
    )
    return headers
