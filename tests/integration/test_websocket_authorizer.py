"""The WebSocket $connect authorizer against a real JWKS endpoint (a local HTTP server serving the issuer's keys):
the same tokens API Gateway's JWT authorizer accepts on the HTTP API, and nothing else."""

from __future__ import annotations

import base64
import hashlib
import hmac
import inspect
import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from devtools.lambda_runtime import LocalLambdaContext, load_handler
from devtools.template import load_template
from tests.support.paths import load_event

AUDIENCE = "threadline-dashboard"
TENANT = "3f1c9a52-6a3e-4a87-9d62-2b1f0f5c7e11"
KEY_ID = "key-1"


class _JwksServer(ThreadingHTTPServer):
    daemon_threads = True
    jwks: bytes
    requests: int = 0


class _JwksHandler(BaseHTTPRequestHandler):
    server: _JwksServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server.requests += 1
        found = self.path == "/.well-known/jwks.json"
        body = self.server.jwks if found else b"{}"
        self.send_response(200 if found else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def jwks_server(signing_key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch) -> Iterator[_JwksServer]:
    """A token issuer publishing its public key at {issuer}/.well-known/jwks.json, as Cognito, Auth0 and Supabase do."""
    public_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(signing_key.public_key()))
    server = _JwksServer(("127.0.0.1", 0), _JwksHandler)
    server.jwks = json.dumps({"keys": [public_jwk | {"kid": KEY_ID, "use": "sig", "alg": "RS256"}]}).encode()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("JWT_ISSUER", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("JWT_AUDIENCE", f"other-app, {AUDIENCE}")
    monkeypatch.setenv("TENANT_CLAIM", "tenant_id")
    authorizer_module()._signing_keys.cache_clear()  # a container per test
    yield server
    authorizer_module()._signing_keys.cache_clear()
    server.shutdown()
    server.server_close()


@pytest.fixture
def issuer(jwks_server: _JwksServer) -> str:
    return f"http://127.0.0.1:{jwks_server.server_address[1]}"


def authorizer_module() -> Any:
    """The function's module as the local runtime loaded it (in isolation, so not in sys.modules)."""
    handler = load_handler(load_template().functions["WebSocketAuthorizerFunction"])
    return SimpleNamespace(**inspect.unwrap(handler).__globals__)


def hs256_token_keyed_with(secret: bytes, claims: dict[str, Any]) -> str:
    """Built by hand: PyJWT refuses to use a public key as an HMAC secret, which is exactly the forgery to try."""

    def part(value: bytes) -> str:
        return base64.urlsafe_b64encode(value).rstrip(b"=").decode()

    signing_input = f"{part(json.dumps({'alg': 'HS256', 'kid': KEY_ID}).encode())}.{part(json.dumps(claims).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{part(signature)}"


def token(signing_key: Any, issuer: str, *, algorithm: str = "RS256", kid: str = KEY_ID, **overrides: Any) -> str:
    now = int(time.time())
    claims = {"iss": issuer, "aud": AUDIENCE, "sub": "agent-7", "iat": now, "exp": now + 600, "tenant_id": TENANT}
    claims |= overrides
    claims = {name: value for name, value in claims.items() if value is not None}
    return jwt.encode(claims, signing_key, algorithm=algorithm, headers={"kid": kid})


def authorize(*, query_token: str | None = None, header: str | None = None) -> dict[str, Any]:
    event = load_event("websocket-authorizer.json")
    event["queryStringParameters"] = {"token": query_token} if query_token else {}
    event["multiValueQueryStringParameters"] = {}
    if header is not None:
        event["headers"]["Authorization"] = header
    handler = load_handler(load_template().functions["WebSocketAuthorizerFunction"])
    return handler(event, LocalLambdaContext(function_name="WebSocketAuthorizerFunction"))


def allowed(response: dict[str, Any]) -> bool:
    (statement,) = response["policyDocument"]["Statement"]
    assert statement["Resource"] == "arn:aws:execute-api:us-east-1:123456789012:abc123defg/dev/$connect"
    return statement["Effect"] == "Allow"


def test_a_token_in_the_query_string_is_allowed_with_its_tenant_and_user(signing_key, issuer):
    response = authorize(query_token=token(signing_key, issuer))

    assert allowed(response)
    assert response["principalId"] == "agent-7"
    assert response["context"] == {"tenantId": TENANT, "userId": "agent-7"}


def test_a_bearer_header_is_allowed_too(signing_key, issuer):
    response = authorize(header=f"Bearer {token(signing_key, issuer)}")

    assert allowed(response) and response["context"]["tenantId"] == TENANT


def test_a_cognito_access_token_is_matched_by_its_client_id(signing_key, issuer):
    response = authorize(query_token=token(signing_key, issuer, aud=None, client_id=AUDIENCE))

    assert allowed(response)


def test_the_tenant_claim_is_configurable(signing_key, issuer, monkeypatch):
    monkeypatch.setenv("TENANT_CLAIM", "custom:tenant_id")

    response = authorize(query_token=token(signing_key, issuer, tenant_id=None, **{"custom:tenant_id": TENANT}))

    assert allowed(response) and response["context"]["tenantId"] == TENANT


@pytest.mark.parametrize(
    "case",
    ["no token", "expired", "other issuer", "other audience", "unknown key", "other signer", "not a jwt", "hs256"],
)
def test_tokens_api_gateway_would_refuse_are_unauthorized(signing_key, issuer, case):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = signing_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    presented = {
        "no token": None,
        "expired": token(signing_key, issuer, exp=int(time.time()) - 60),
        "other issuer": token(signing_key, "https://someone-else.example.com/"),
        "other audience": token(signing_key, issuer, aud="another-api"),
        "unknown key": token(signing_key, issuer, kid="key-that-does-not-exist"),
        "other signer": token(stranger, issuer),
        "not a jwt": "not.a.jwt",
        # The issuer's public key used as an HMAC secret: the classic algorithm confusion.
        "hs256": hs256_token_keyed_with(
            public_pem,
            {"iss": issuer, "aud": AUDIENCE, "sub": "x", "exp": int(time.time()) + 60, "tenant_id": TENANT},
        ),
    }[case]

    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(query_token=presented)


@pytest.mark.parametrize("tenant", [None, "not-a-uuid"])
def test_a_genuine_token_without_a_tenant_is_denied(signing_key, issuer, tenant):
    response = authorize(query_token=token(signing_key, issuer, tenant_id=tenant))

    assert not allowed(response)
    assert "context" not in response


def test_the_issuers_keys_are_fetched_once_per_container(signing_key, issuer, jwks_server):
    for _ in range(3):
        assert allowed(authorize(query_token=token(signing_key, issuer, sub=f"agent-{uuid.uuid4().hex[:4]}")))

    assert jwks_server.requests == 1
