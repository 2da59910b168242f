"""Fixtures the integration tests share beyond tests/conftest.py."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from moto import mock_aws

from devtools.webhook_receiver import WebhookReceiver
from tests.support.contracts import checked_frame
from tests.support.realtime import MOTO_MANAGEMENT_URL, ManagementServer, frames_in
from tests.support.secrets_manager_server import secrets_manager  # noqa: F401 - Secrets Manager (moto) over real HTTP
from threadline.realtime.publisher import MANAGEMENT_URL_VARIABLE, reset_management_client


@pytest.fixture
def management_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Moto's management API; `received(connection_id)` lists the frames posted to a connection."""
    monkeypatch.setenv(MANAGEMENT_URL_VARIABLE, MOTO_MANAGEMENT_URL)
    reset_management_client()
    with mock_aws():
        from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends
        from moto.core import DEFAULT_ACCOUNT_ID

        backend = apigatewaymanagementapi_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]

        class Received:
            def __call__(self, connection_id: str) -> list[dict[str, Any]]:
                # Moto keys connections by the id as it appears in the request path (percent-encoded).
                key = quote(connection_id, safe="")
                if key not in backend.connections:  # a defaultdict: never index it to look
                    return []
                return frames_in(backend.connections[key].data)

        yield Received()
    reset_management_client()


@pytest.fixture
def local_management(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A real HTTP server answering like the management API: `start(answers, default)` sets who gets which status."""
    servers: list[ManagementServer] = []

    def start(answers: dict[str, int] | None = None, default: int = 200) -> ManagementServer:
        server = ManagementServer(answers or {}, default)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        monkeypatch.setenv(MANAGEMENT_URL_VARIABLE, f"http://127.0.0.1:{server.server_address[1]}/dev")
        reset_management_client()
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
    reset_management_client()
    for server in servers:
        for _, body in server.posts:
            checked_frame(json.loads(body))


@pytest.fixture
def fake_connector() -> Iterator[WebhookReceiver]:
    """A connector's callback receiver on a real local port (script its answers, read its requests)."""
    with WebhookReceiver() as server:
        yield server


@pytest.fixture
def media_bucket() -> Iterator[Any]:
    """The private media bucket on moto's S3 server (real HTTP: threadline.aws.s3 signs its own requests), with
    MEDIA_BUCKET and MEDIA_S3_ENDPOINT_URL pointing at it, and a recording in-process copy queue registered."""
    from devtools.local_s3 import start_local_s3
    from tests.support.fakes import RecordingMediaQueue, environment
    from threadline.delivery.media_queue import register_local_media_queue

    local = start_local_s3()
    queue = RecordingMediaQueue()
    register_local_media_queue(queue)
    try:
        with environment(local.environment(), remove=(), reset=lambda: None):
            local.queue = queue  # type: ignore[attr-defined]
            yield local
    finally:
        register_local_media_queue(None)
        local.stop()
