"""Local stand-in for API Gateway's JWT authorizer: tokens signed with a development key kept in `.local/`.

In AWS the authorizer verifies tokens from the configured issuer (Cognito, Auth0, Supabase); locally the
gateway verifies these with the same checks (signature, expiry, issuer, audience) and hands the handler the
claims under requestContext.authorizer.jwt.claims, as API Gateway does.
"""

from __future__ import annotations

import os
import secrets
import time
from typing import Any

import jwt

from devtools.paths import LOCAL_STATE

LOCAL_ISSUER = "https://threadline.local/"
LOCAL_AUDIENCE = "threadline"
_ALGORITHM = "HS256"


class TokenRejected(Exception):
    pass


def signing_key() -> str:
    configured = os.environ.get("THREADLINE_LOCAL_JWT_KEY")
    if configured:
        return configured
    key_file = LOCAL_STATE / "jwt-dev-key"
    if not key_file.exists():
        LOCAL_STATE.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(48))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def issue_token(
    *, tenant_id: str, user_id: str | None = None, ttl_seconds: int = 3600, tenant_claim: str = "tenant_id"
) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": LOCAL_ISSUER,
        "aud": LOCAL_AUDIENCE,
        "iat": now,
        "exp": now + ttl_seconds,
        "sub": user_id or f"service:{tenant_id}",
        tenant_claim: tenant_id,
    }
    return jwt.encode(claims, signing_key(), algorithm=_ALGORITHM)


def verify_bearer(authorization: str | None) -> dict[str, str]:
    """The claims API Gateway would pass on: every value as a string."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise TokenRejected("missing bearer token")
    try:
        claims = jwt.decode(
            authorization[7:].strip(),
            signing_key(),
            algorithms=[_ALGORITHM],
            audience=LOCAL_AUDIENCE,
            issuer=LOCAL_ISSUER,
            options={"require": ["exp", "iss", "aud"]},
        )
    except jwt.PyJWTError as error:
        raise TokenRejected(str(error)) from error
    return {name: value if isinstance(value, str) else str(value) for name, value in claims.items()}
