"""Who is calling: the tenant and agent of a request, from the claims API Gateway's JWT authorizer verified.

API Gateway (and the local gateway) has already checked the token's signature, issuer, audience and expiry;
handlers only read the claims. A token without a well-formed tenant claim is refused, never defaulted.
"""

from __future__ import annotations

from typing import Any

from threadline.caller import Caller
from threadline.config import get_settings
from threadline.errors import Unauthorized
from threadline.models.ids import parse_uuid

__all__ = ["Caller", "caller_from_event"]

# Most readable first: a person's name, then their login, then the subject, which every token has.
NAME_CLAIMS = ("name", "preferred_username", "username", "cognito:username", "email", "sub")


def _claims(event: dict[str, Any]) -> dict[str, Any]:
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    claims = (authorizer.get("jwt") or {}).get("claims")
    return claims if isinstance(claims, dict) else {}


def caller_from_event(event: dict[str, Any]) -> Caller:
    claims = _claims(event)
    tenant_id = parse_uuid(claims.get(get_settings().tenant_claim))
    if tenant_id is None:
        raise Unauthorized("Unauthorized", details="The token carries no valid tenant claim")
    return Caller(tenant_id=tenant_id, user_id=parse_uuid(claims.get("sub")), token_name=_token_name(claims))


def _token_name(claims: dict[str, Any]) -> str | None:
    for claim in NAME_CLAIMS:
        value = claims.get(claim)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None
