"""One way for tests to call a route: through template.yaml's routing, as the local gateway (devtools/gateway.py)
and API Gateway do. The method and path find the function that owns the route, the request becomes the same
HTTP API payload v2.0 event the gateway builds, the JWT authorizer's rules apply to authorised routes, and the
real handler answers."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode

from devtools.auth import LOCAL_AUDIENCE, LOCAL_ISSUER, TokenRejected, verify_bearer
from devtools.gateway import build_event
from devtools.lambda_runtime import LocalLambdaContext, load_handler
from devtools.template import Route, load_template

UNAUTHORIZED = (401, {"message": "Unauthorized"})  # API Gateway's own answer when the JWT authorizer refuses


def route_for(method: str, path: str) -> tuple[Route, dict[str, str]]:
    """The template's route for a request, most specific first as API Gateway chooses, and its path parameters."""
    for route in load_template().routes:
        parameters = route.match(method, path)
        if parameters is not None:
            return route, parameters
    raise LookupError(f"no route in template.yaml answers {method} {path}")


def service_claims(tenant_id: object | None, user_id: object | None = None) -> dict[str, str]:
    """The claims the JWT authorizer passes on for a local token of `tenant_id` (and `user_id`, else a service
    token); with tenant_id None, a verified token whose claims name no tenant."""
    claims = {"iss": LOCAL_ISSUER, "aud": LOCAL_AUDIENCE, "sub": str(user_id) if user_id else f"service:{tenant_id}"}
    if tenant_id is not None:
        claims["tenant_id"] = str(tenant_id)
    return claims


def path_segment(value: object) -> str:
    """A value as one path segment, escaped as a client would send it."""
    return quote(str(value), safe="")


def call_route(
    method: str,
    path: str,
    *,
    body: Any = None,
    headers: dict[str, str] | None = None,
    token: str | None = None,
    claims: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    timeout_seconds: int = 29,
    without_authorizer: bool = False,
) -> tuple[int, Any]:
    """(status, JSON body) of `method path` answered by the function owning it (see route_response)."""
    response = route_response(
        method,
        path,
        body=body,
        headers=headers,
        token=token,
        claims=claims,
        query=query,
        timeout_seconds=timeout_seconds,
        without_authorizer=without_authorizer,
    )
    return response["statusCode"], json.loads(response["body"])


def route_response(
    method: str,
    path: str,
    *,
    body: Any = None,
    headers: dict[str, str] | None = None,
    token: str | None = None,
    claims: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    timeout_seconds: int = 29,
    without_authorizer: bool = False,
) -> dict[str, Any]:
    """The whole answer (statusCode, headers, body) of `method path` answered by the function owning it.

    `body` is sent as it is when a str (or bytes), else as JSON. On a route with the JWT authorizer, `token` is
    verified as the gateway verifies it (401 when refused or missing), or `claims` are passed on as the claims of
    an already verified token (for claims no local token would carry). `without_authorizer` hands the handler an
    event with no authorizer context at all, for tests of a handler's own refusal."""
    route, path_parameters = route_for(method, path)
    request_headers = {"host": "127.0.0.1", "user-agent": "threadline-tests"}
    if body is not None or method == "POST":
        request_headers["content-type"] = "application/json"
    request_headers |= {name.lower(): value for name, value in (headers or {}).items()}
    if token is not None:
        request_headers["authorization"] = f"Bearer {token}"
    verified: dict[str, str] | None = None
    if route.authorized and not without_authorizer:
        if claims is not None:
            verified = claims
        else:
            try:
                verified = verify_bearer(request_headers.get("authorization"))
            except TokenRejected:
                return {"statusCode": UNAUTHORIZED[0], "headers": {}, "body": json.dumps(UNAUTHORIZED[1])}
    if isinstance(body, bytes):
        raw_body = body
    elif isinstance(body, str):
        raw_body = body.encode("utf-8", "surrogatepass")
    else:
        raw_body = b"" if body is None else json.dumps(body).encode()
    event = build_event(
        route=route,
        method=method,
        raw_path=path,
        raw_query=urlencode(query or {}),
        headers=request_headers,
        body=raw_body,
        path_parameters=path_parameters,
        claims=verified,
    )
    if isinstance(body, str):
        # Exactly the text given, even one UTF-8 cannot carry (a lone surrogate), as a client's JSON text.
        event["body"], event["isBase64Encoded"] = body, False
    function = load_template().functions[route.function]
    return load_handler(function)(
        event, LocalLambdaContext(function_name=function.logical_id, timeout_seconds=timeout_seconds)
    )
