"""WebSocket subscribers arranged in the database (as the owner: the WebSocket routes are tested end to end in
tests/e2e), and a real HTTP server answering like API Gateway's management API (moto never answers 410)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

import psycopg

from tests.support.contracts import checked_frames

MOTO_MANAGEMENT_URL = "https://abc123defg.execute-api.us-east-1.amazonaws.com/dev"


def subscribe(
    admin: psycopg.Connection[Any],
    tenant_id: uuid.UUID,
    *topics: tuple[str, str | int],
    connection_id: str | None = None,
    expires_in: timedelta = timedelta(hours=2),
) -> str:
    connection_id = connection_id or f"conn{uuid.uuid4().hex[:12]}="
    admin.execute(
        "INSERT INTO websocket_connections (connection_id, tenant_id, user_id, expires_at)"
        " VALUES (%s, %s, 'agent', now() + %s) ON CONFLICT DO NOTHING",
        (connection_id, tenant_id, expires_in),
    )
    for topic, topic_id in topics:
        admin.execute(
            "INSERT INTO websocket_subscriptions (tenant_id, connection_id, topic, topic_id) VALUES (%s, %s, %s, %s)",
            (tenant_id, connection_id, topic, str(topic_id)),
        )
    return connection_id


def registered(admin: psycopg.Connection[Any], connection_id: str) -> tuple[int, int]:
    """(connections, subscriptions) stored for this connection id."""
    row = admin.execute(
        "SELECT (SELECT count(*) FROM websocket_connections WHERE connection_id = %(c)s),"
        " (SELECT count(*) FROM websocket_subscriptions WHERE connection_id = %(c)s)",
        {"c": connection_id},
    ).fetchone()
    assert row is not None
    return row[0], row[1]


def frames_in(data: bytes) -> list[dict[str, Any]]:
    """Moto appends each post's bytes to the connection's data: split them back into frames, each held to its
    model."""
    decoder, text, frames, position = json.JSONDecoder(), data.decode("utf-8"), [], 0
    while position < len(text):
        frame, position = decoder.raw_decode(text, position)
        frames.append(frame)
    return checked_frames(frames)


class ManagementServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, answers: dict[str, int], default: int) -> None:
        super().__init__(("127.0.0.1", 0), ManagementHandler)
        self.answers, self.default = answers, default
        self.posts: list[tuple[str, bytes]] = []


class ManagementHandler(BaseHTTPRequestHandler):
    server: ManagementServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        connection_id = unquote(self.path.rsplit("/@connections/", 1)[1])
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.posts.append((connection_id, body))
        status = self.server.answers.get(connection_id, self.server.default)
        payload = b"" if status == 200 else b'{"message":"no"}'
        self.send_response(status)
        if status == 410:
            self.send_header("x-amzn-ErrorType", "GoneException")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
