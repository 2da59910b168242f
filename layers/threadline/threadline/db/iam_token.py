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
from datetime import UTC, datetime
from urllib.parse import quote

from threadline.aws.sigv4 import ALGORITHM, AwsCredentials, sigv4_signature

SERVICE = "rds-db"
TOKEN_LIFETIME_SECONDS = 900  # RDS accepts a token for 15 minutes; a connection outlives it once open
_EMPTY_PAYLOAD_SHA256 = hashlib.sha256(b"").hexdigest()


def _encode(value: str) -> str:
    return quote(value, safe="-_.~")


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
