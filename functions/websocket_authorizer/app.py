"""The WebSocket API's $connect authorizer: the same bearer tokens the HTTP API accepts, checked the same way.

API Gateway's built-in JWT authorizer exists only for HTTP APIs, so WebSocket connections are checked here: the
signature against the issuer's published keys (JWKS, cached per container and refreshed when a new key id
appears), the issuer, an audience (or, for Cognito access tokens, the client id), the expiry. Browsers cannot set
headers on a WebSocket, so the token comes from `Authorization: Bearer ...` or the `token` query parameter. The
tenant (TENANT_CLAIM) and the user (`sub`) go on to the $connect handler in the authorizer context.
"""

import os
from functools import lru_cache
from uuid import UUID

import jwt
from aws_lambda_powertools.utilities.typing import LambdaContext

from threadline.observability import logger

# Asymmetric algorithms only: a symmetric one would let anyone holding the public key sign tokens.
ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]
_UNAUTHORIZED = "Unauthorized"  # the exact message API Gateway turns into a 401


def _bearer_token(event: dict) -> str | None:
    headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
    authorization = headers.get("authorization") or ""
    if authorization.lower().startswith("bearer "):
        return authorization[7:].strip() or None
    return (event.get("queryStringParameters") or {}).get("token") or None


def _audiences() -> list[str]:
    return [audience.strip() for audience in os.environ.get("JWT_AUDIENCE", "").split(",") if audience.strip()]


@lru_cache(maxsize=1)
def _signing_keys() -> jwt.PyJWKClient:
    jwks_url = os.environ.get("JWT_JWKS_URL") or os.environ["JWT_ISSUER"].rstrip("/") + "/.well-known/jwks.json"
    return jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=3600, timeout=5)


def verified_claims(token: str) -> dict:
    """The token's claims, if it is genuine, current, from our issuer and meant for us (as API Gateway's JWT
    authorizer decides: `aud`, or `client_id` when there is no `aud`)."""
    key = _signing_keys().get_signing_key_from_jwt(token)
    claims = jwt.decode(
        token,
        key.key,
        algorithms=ALGORITHMS,
        issuer=os.environ["JWT_ISSUER"],
        options={"require": ["exp", "iss"], "verify_aud": False},
    )
    audiences = set(_audiences())
    presented = claims.get("aud", claims.get("client_id"))
    presented = set(presented) if isinstance(presented, list) else {presented}
    if not audiences & presented:
        raise jwt.InvalidAudienceError("the token is not meant for this API")
    return claims


def _policy(effect: str, method_arn: str, principal: str, context: dict | None = None) -> dict:
    response = {
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": method_arn}],
        },
    }
    if context:
        response["context"] = context
    return response


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    token = _bearer_token(event)
    if token is None:
        raise Exception(_UNAUTHORIZED)  # API Gateway answers 401 for exactly this message
    try:
        claims = verified_claims(token)
    except (jwt.PyJWTError, jwt.PyJWKClientError) as error:
        logger.info("token refused", extra={"reason": str(error)})
        raise Exception(_UNAUTHORIZED) from None
    subject = str(claims.get("sub") or "")
    tenant = claims.get(os.environ.get("TENANT_CLAIM", "tenant_id"))
    try:
        tenant_id = str(UUID(str(tenant)))
    except ValueError:
        logger.info("token without a valid tenant claim", extra={"sub": subject})
        return _policy("Deny", event["methodArn"], subject or "anonymous")
    return _policy("Allow", event["methodArn"], subject, {"tenantId": tenant_id, "userId": subject})
