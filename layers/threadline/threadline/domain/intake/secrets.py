"""Connection API secrets: shown once at creation, stored only as a SHA-256 digest.

The secrets are 256-bit random tokens, so a fast digest resists brute force as well as a slow password hash
would, and keeps every ingest request's authentication to one digest and one constant-time compare.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

_SECRET_PREFIX = "tl_sk_"  # noqa: S105 - a public prefix that makes leaked keys recognisable to scanners


def generate_api_secret() -> str:
    return _SECRET_PREFIX + secrets.token_urlsafe(32)


def digest_api_secret(api_secret: str) -> str:
    return hashlib.sha256(api_secret.encode("utf-8")).hexdigest()


def api_secret_matches(api_secret: str, stored_digest: str) -> bool:
    return hmac.compare_digest(digest_api_secret(api_secret), stored_digest)
