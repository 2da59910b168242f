"""Secrets Manager for tests, over real HTTP: a local server that checks each request's SigV4 signature the way
AWS does (recomputed with botocore's signer from the request it received and the caller's known secret key) and
answers `GetSecretValue` from moto. threadline.aws.secrets signs its own requests with the standard library,
so moto's in-process patching of botocore would never see them; this is how they reach moto instead."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from threadline.aws.secrets import clear_secret_cache


@dataclass
class SecretsManagerServer:
    url: str
    client: Any  # boto3's Secrets Manager client on moto: create and rotate secrets with it
    refused_signatures: list[str] = field(default_factory=list)


def _expected_authorization(handler: BaseHTTPRequestHandler, body: bytes) -> str:
    # As AWS does: only the headers the client says it signed (http.client adds Accept-Encoding, Content-Length).
    authorization = str(handler.headers.get("Authorization", ""))
    signed = authorization.partition("SignedHeaders=")[2].partition(",")[0].split(";")
    headers = {name: value for name, value in handler.headers.items() if name.lower() in signed}
    if "Host" not in headers or "X-Amz-Date" not in headers:
        return "unsigned"
    request = botocore.awsrequest.AWSRequest(
        method=handler.command, url=f"http://{headers['Host']}{handler.path}", data=body, headers=headers
    )
    request.context["timestamp"] = headers["X-Amz-Date"]
    credentials = botocore.credentials.Credentials(
        os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"], headers.get("X-Amz-Security-Token")
    )
    signer = botocore.auth.SigV4Auth(credentials, "secretsmanager", "us-east-1")
    signature = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    return str(signer._inject_signature_to_request(request, signature).headers["Authorization"])


def _handler_for(server: SecretsManagerServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.headers.get("Authorization") != _expected_authorization(self, body):
                server.refused_signatures.append(str(self.headers.get("Authorization")))
                return self._answer(403, {"__type": "InvalidSignatureException", "message": "signature mismatch"})
            if self.headers.get("X-Amz-Target") != "secretsmanager.GetSecretValue":
                return self._answer(400, {"__type": "UnknownOperationException"})
            try:
                found = server.client.get_secret_value(SecretId=json.loads(body)["SecretId"])
            except ClientError as error:
                return self._answer(400, {"__type": error.response["Error"]["Code"], "message": "refused"})
            return self._answer(
                200, {"ARN": found["ARN"], "Name": found["Name"], "SecretString": found["SecretString"]}
            )

        def _answer(self, status: int, document: dict[str, Any]) -> None:
            content = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

    return Handler


@pytest.fixture
def secrets_manager(monkeypatch: pytest.MonkeyPatch) -> Iterator[SecretsManagerServer]:
    """Secrets in moto, served over HTTP on 127.0.0.1; Threadline's reads are pointed at that server."""
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        state = SecretsManagerServer(url="", client=client)
        http_server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(state))
        state.url = f"http://127.0.0.1:{http_server.server_address[1]}"
        thread = threading.Thread(target=http_server.serve_forever, name="fake-secrets-manager", daemon=True)
        thread.start()
        monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", state.url)
        clear_secret_cache()
        try:
            yield state
        finally:
            clear_secret_cache()
            http_server.shutdown()
            http_server.server_close()
