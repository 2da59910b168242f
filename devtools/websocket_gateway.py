"""The local WebSocket API: template.yaml's WebSocketApi served on ws://127.0.0.1:PORT+1, as API Gateway serves it.

- The opening handshake is $connect. Its route carries the authorizer in the template, so the bearer token (the
  `Authorization` header, or `?token=` since browsers cannot set headers) is checked with the local development key,
  and the tenant and user go to the handler as the authorizer context, as the AWS authorizer function passes them:
  401 without a valid token, 403 without a tenant claim, and the handler's own status when it is not 2xx.
- Each frame is routed by the RouteSelectionExpression ($request.body.action, else $default) to the real handler as a
  MESSAGE event; the handler's `body` is sent back as the route response. Closing the socket is $disconnect.
- The management API (`POST/GET/DELETE /@connections/{id}`, what the publishers' boto3 client calls) is served by
  the HTTP gateway on its own port (see devtools/gateway.py), so WEBSOCKET_MANAGEMENT_URL is the HTTP base URL; an
  unknown connection answers 410 GoneException exactly like AWS.
- With a request log (devtools/request_log.py, as `make dev` runs it) each invocation prints one line per route key,
  e.g. `WebSocketFunction WS subscribe_conversation 200 3 ms`, instead of the handler's raw Powertools output.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from devtools.auth import TokenRejected, verify_bearer
from devtools.lambda_runtime import invoke
from devtools.request_log import RequestLog, logged_invocation
from devtools.template import Template, WebSocketApi, WebSocketRoute

LOCAL_STAGE = "local"


def new_connection_id() -> str:
    # API Gateway's ids look like "L0SM9cOFvHcCIhw=": 10 random bytes in base64. URL-safe here, since the id travels
    # in the management API's path.
    return base64.urlsafe_b64encode(secrets.token_bytes(10)).decode()


def _refusal(socket: ServerConnection, status: int) -> Response:
    """The handshake's refusal, worded as API Gateway words it."""
    message = {401: "Unauthorized", 403: "Forbidden", 500: "Internal server error"}.get(status, "Refused")
    return socket.respond(status, json.dumps({"message": message}))


def _now_text() -> str:
    return datetime.now(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")


class _Socket(ServerConnection):
    """A WebSocket plus what API Gateway remembers about it from its $connect."""

    connection_id: str
    authorizer: dict[str, Any] | None
    connected_at: float
    last_active_at: float
    source_ip: str  # kept from the handshake: a closed socket no longer knows its peer
    user_agent: str
    send_lock: threading.Lock


@dataclass
class LocalWebSocketApi:
    """One WebSocket server for the template's WebSocketApi, plus the registry the management API works on."""

    template: Template
    host: str = "127.0.0.1"
    port: int = 0
    request_log: RequestLog | None = None
    _sockets: dict[str, _Socket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: Server | None = None
    _thread: threading.Thread | None = None

    @property
    def api(self) -> WebSocketApi:
        assert self.template.websocket is not None
        return self.template.websocket

    def start(self) -> LocalWebSocketApi:
        self._server = serve(
            self._serve_socket,
            self.host,
            self.port,
            process_request=self._connect,
            create_connection=_Socket,
            server_header=None,
            compression=None,
        )
        self.port = self._server.socket.getsockname()[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="websocket-gateway", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=10)

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    # -----------------------------------------------------------------------------------------------------------
    # The management API (called by the HTTP gateway for /@connections/{id}).
    # -----------------------------------------------------------------------------------------------------------

    def post_to_connection(self, connection_id: str, data: bytes) -> bool:
        """Send one frame; False when there is no such open connection (the management API's 410)."""
        socket = self._sockets.get(connection_id)
        if socket is None:
            return False
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        try:
            with socket.send_lock:
                socket.send(text if text is not None else data)
        except ConnectionClosed:
            return False
        return True

    def describe_connection(self, connection_id: str) -> dict[str, Any] | None:
        socket = self._sockets.get(connection_id)
        if socket is None:
            return None
        return {
            "ConnectedAt": datetime.fromtimestamp(socket.connected_at, UTC).isoformat(),
            "Identity": {"SourceIp": socket.source_ip, "UserAgent": socket.user_agent},
            "LastActiveAt": datetime.fromtimestamp(socket.last_active_at, UTC).isoformat(),
        }

    def close_connection(self, connection_id: str) -> bool:
        socket = self._sockets.get(connection_id)
        if socket is None:
            return False
        socket.close()
        return True

    # -----------------------------------------------------------------------------------------------------------
    # The WebSocket side.
    # -----------------------------------------------------------------------------------------------------------

    def _event(
        self, socket: _Socket, route: WebSocketRoute, event_type: str, extra_context: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        now = time.time()
        context: dict[str, Any] = {
            "routeKey": route.route_key,
            "eventType": event_type,
            "extendedRequestId": uuid.uuid4().hex,
            "requestTime": _now_text(),
            "messageDirection": "IN",
            "stage": LOCAL_STAGE,
            "connectedAt": int(socket.connected_at * 1000),
            "requestTimeEpoch": int(now * 1000),
            "identity": {"sourceIp": socket.source_ip, "userAgent": socket.user_agent},
            "requestId": str(uuid.uuid4()),
            "domainName": f"{self.host}:{self.port}",
            "connectionId": socket.connection_id,
            "apiId": "local",
        }
        if socket.authorizer is not None:
            context["authorizer"] = socket.authorizer
        return {"requestContext": context | (extra_context or {}), "isBase64Encoded": False}

    def _invoke(self, route: WebSocketRoute, event: dict[str, Any]) -> Any:
        """The route's handler. A crash is reported (the traceback, as the Lambda runtime would log it) and raised on."""
        with logged_invocation(self.request_log, route.function, f"WS {route.route_key}") as call:
            try:
                result = invoke(self.template.functions[route.function], event)
            except Exception:
                call.crashed()
                raise
            call.status = int(result.get("statusCode", 200)) if isinstance(result, dict) else 200
            return result

    def _authorize(self, headers: Headers, query: dict[str, str]) -> dict[str, Any] | int:
        """The AWS authorizer function's decision (its context, or the status API Gateway refuses with), made with
        the local development key."""
        authorization = headers.get("Authorization") or (f"Bearer {query['token']}" if query.get("token") else None)
        try:
            claims = verify_bearer(authorization)
        except TokenRejected:
            return 401
        tenant = claims.get(os.environ.get("TENANT_CLAIM", "tenant_id"))
        try:
            tenant_id = str(uuid.UUID(str(tenant)))
        except ValueError:
            return 403  # the authorizer's Deny
        subject = claims.get("sub", "")
        return {"principalId": subject, "tenantId": tenant_id, "userId": subject, "integrationLatency": 0}

    def _connect(self, socket: ServerConnection, request: Request) -> Response | None:
        assert isinstance(socket, _Socket)
        url = urlsplit(request.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        socket.connection_id = new_connection_id()
        socket.connected_at = socket.last_active_at = time.time()
        socket.user_agent = request.headers.get("User-Agent", "")
        socket.source_ip = str(socket.remote_address[0])
        socket.send_lock = threading.Lock()
        socket.authorizer = None
        route = self.api.routes.get("$connect")
        if route is None:
            return None  # no $connect route: API Gateway accepts every connection
        if route.authorized:
            started = time.perf_counter()
            decision = self._authorize(request.headers, query)
            if isinstance(decision, int):
                if self.request_log is not None:
                    self.request_log.note(
                        route.function, f"WS {route.route_key}", decision, started=started, detail="authorizer"
                    )
                return _refusal(socket, decision)
            socket.authorizer = decision
        event = self._event(socket, route, "CONNECT")
        event["headers"] = {name: value for name, value in request.headers.raw_items()}
        event["multiValueHeaders"] = {name: request.headers.get_all(name) for name in request.headers}
        if query:
            event["queryStringParameters"] = query
        try:
            result = self._invoke(route, event)
        except Exception:  # reported by _invoke
            return _refusal(socket, 500)
        status = int(result.get("statusCode", 200)) if isinstance(result, dict) else 200
        if not 200 <= status < 300:
            return _refusal(socket, status)
        # Known to the management API before the handshake completes: a client (or publisher) that posts to the
        # connection the moment connect() returns must find it, as in AWS; _serve_socket starts a little later.
        with self._lock:
            self._sockets[socket.connection_id] = socket
        return None

    def _serve_socket(self, socket: ServerConnection) -> None:
        assert isinstance(socket, _Socket)
        with self._lock:
            self._sockets.setdefault(socket.connection_id, socket)
        close_code, close_reason = 1000, ""
        try:
            for message in socket:
                socket.last_active_at = time.time()
                self._on_message(socket, message)
        except ConnectionClosed as closed:
            close_code = closed.rcvd.code if closed.rcvd else 1006
        finally:
            with self._lock:
                self._sockets.pop(socket.connection_id, None)
            if socket.close_code is not None:
                close_code, close_reason = socket.close_code, socket.close_reason or ""
            route = self.api.routes.get("$disconnect")
            if route is not None:
                event = self._event(
                    socket,
                    route,
                    "DISCONNECT",
                    {"disconnectStatusCode": close_code, "disconnectReason": close_reason},
                )
                # As in AWS, a failing $disconnect changes nothing for the client (_invoke reports the crash).
                with contextlib.suppress(Exception):
                    self._invoke(route, event)

    def _on_message(self, socket: _Socket, message: str | bytes) -> None:
        text = message if isinstance(message, str) else None
        route = self.api.select_route(text) if text is not None else self.api.routes.get("$default")
        request_id = str(uuid.uuid4())
        if route is None:
            self._reply(socket, {"message": "Forbidden", "connectionId": socket.connection_id, "requestId": request_id})
            return
        event = self._event(socket, route, "MESSAGE", {"messageId": uuid.uuid4().hex[:16], "requestId": request_id})
        if text is not None:
            event["body"] = text
        else:
            event["body"] = base64.b64encode(message).decode()  # type: ignore[arg-type]
            event["isBase64Encoded"] = True
        try:
            result = self._invoke(route, event)
        except Exception:  # reported by _invoke
            self._reply(
                socket,
                {"message": "Internal server error", "connectionId": socket.connection_id, "requestId": request_id},
            )
            return
        body = result.get("body") if isinstance(result, dict) else None
        if body and route.responds:  # two-way routes only, as in API Gateway
            with socket.send_lock:
                socket.send(body)

    def _reply(self, socket: _Socket, frame: dict[str, Any]) -> None:
        with socket.send_lock:
            socket.send(json.dumps(frame))
