"""RDS IAM authentication tokens, signed here with the standard library.

A token is a SigV4 query-string presigned `GET https://host:port/?Action=connect&DBUser=...` (service `rds-db`,
valid 15 minutes) without its scheme: exactly what boto3's `generate_db_auth_token` returns, as
tests/unit/test_iam_token.py proves byte for byte against it. Signing it here instead of through boto3 removes
what a fresh container paid on its first connect: importing boto3 and building an RDS client (about 110 ms, and
botocore's signer alone still costs about 85 ms of imports, since nothing else loads botocore at init; see
`make bench-coldstart`). The signature itself is four HMACs.

Credentials come from the environment, where Lambda puts the function role's keys (AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN); only where those are absent (a developer's profile, say) is botocore's
full credential chain asked. They are read on every mint, never cached: after a SnapStart restore the environment
holds fresh keys.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

SERVICE = "rds-db"
ALGORITHM = "AWS4-HMAC-SHA256"
TOKEN_LIFETIME_SECONDS = 900  # RDS accepts a token for 15 minutes; a connection outlives it once open
_EMPTY_PAYLOAD_SHA256 = hashlib.sha256(b"").hexdigest()


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


def _encode(value: str) -> str:
    return quote(value, safe="-_.~")


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def rds_auth_token(
    *, host: str, port: int, user: str, region: str, credentials: AwsCredentials, now: datetime | None = None
) -> str:
    """The password for an IAM-authenticated connect to `host:port` as `user`."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    timestamp = moment.strftime("%Y%m%dT%H%M%SZ")
    scope = f"{timestamp[:8]}/{region}/{SERVICE}/aws4_request"
    # The signed Host header as an HTTP client sends it: lower case, https' default port left out.
    signed_host = host.lower() if port == 443 else f"{host.lower()}:{port}"
    # Operation parameters first, then the signing parameters: the order AWS's own signers emit.
    parameters = [
        ("Action", "connect"),
        ("DBUser", user),
        ("X-Amz-Algorithm", ALGORITHM),
        ("X-Amz-Credential", f"{credentials.access_key_id}/{scope}"),
        ("X-Amz-Date", timestamp),
        ("X-Amz-Expires", str(TOKEN_LIFETIME_SECONDS)),
        ("X-Amz-SignedHeaders", "host"),
    ]
    if credentials.session_token is not None:
        parameters.append(("X-Amz-Security-Token", credentials.session_token))
    encoded = [(_encode(name), _encode(value)) for name, value in parameters]
    query = "&".join(f"{name}={value}" for name, value in encoded)
    canonical_query = "&".join(f"{name}={value}" for name, value in sorted(encoded))
    canonical_request = f"GET\n/\n{canonical_query}\nhost:{signed_host}\n\nhost\n{_EMPTY_PAYLOAD_SHA256}"
    string_to_sign = f"{ALGORITHM}\n{timestamp}\n{scope}\n{hashlib.sha256(canonical_request.encode()).hexdigest()}"
    signature = sigv4_signature(credentials, date=timestamp[:8], region=region, service=SERVICE, text=string_to_sign)
    return f"{host}:{port}/?{query}&X-Amz-Signature={signature}"


def sigv4_signature(credentials: AwsCredentials, *, date: str, region: str, service: str, text: str) -> str:
    """SigV4's last step, shared by every request Threadline signs itself: the signing key derived for
    `date`/`region`/`service`, then the HMAC of the string to sign."""
    key = _hmac(f"AWS4{credentials.secret_access_key}".encode(), date)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()
