"""A local token issuer that API Gateway can check: RS256 tokens and their public key published as an OIDC issuer
does ({issuer}/.well-known/openid-configuration and its jwks_uri), on a real HTTP port.

The local gateway's tokens (devtools/auth.py) are signed with a shared secret (HS256), which only the local gateway
can verify. A deployed HttpApi's JWT authorizer (in AWS, or in the emulator the deployment rehearsal deploys to)
verifies a token against the issuer's published keys, as it does for Cognito, Auth0 or Supabase: deployed with
`JwtIssuer` = `issuer`, it accepts exactly the tokens `issue_token` signs.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

_AUDIENCE = "threadline"


class _IssuerServer(ThreadingHTTPServer):
    documents: dict[str, bytes]


class _IssuerHandler(BaseHTTPRequestHandler):
    server: _IssuerServer

    def do_GET(self) -> None:
        body = self.server.documents.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body or b"{}")

    def log_message(self, format: str, *args: Any) -> None:
        pass


class LocalIssuer:
    """Start with `with LocalIssuer() as issuer:`; `issuer.issuer` is the URL to deploy as JwtIssuer."""

    def __init__(self, audience: str = _AUDIENCE) -> None:
        self.audience = audience
        self.key_id = f"local-{uuid.uuid4().hex[:8]}"
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._server = _IssuerServer(("127.0.0.1", 0), _IssuerHandler)
        self.issuer = f"http://127.0.0.1:{self._server.server_address[1]}"
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key()))
        jwks = {"keys": [public | {"kid": self.key_id, "use": "sig", "alg": "RS256"}]}
        discovery = {"issuer": self.issuer, "jwks_uri": f"{self.issuer}/.well-known/jwks.json"}
        self._server.documents = {
            "/.well-known/jwks.json": json.dumps(jwks).encode(),
            "/.well-known/openid-configuration": json.dumps(discovery).encode(),
        }
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> LocalIssuer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def issue_token(
        self, *, tenant_id: str, user_id: str | None = None, ttl_seconds: int = 3600, tenant_claim: str = "tenant_id"
    ) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "exp": now + ttl_seconds,
            "sub": user_id or f"service:{tenant_id}",
            tenant_claim: tenant_id,
        }
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.key_id})
