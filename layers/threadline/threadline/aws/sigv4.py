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
