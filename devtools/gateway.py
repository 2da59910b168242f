"""The local API gateway: serves every HttpApi route of template.yaml on http://127.0.0.1:PORT.

Each HTTP request becomes an API Gateway HTTP API payload v2.0 event handed to the real handler; routes that
carry the JWT authorizer in the template get the same treatment as in AWS (401 `{"message":"Unauthorized"}`
without a valid bearer token, verified claims under requestContext.authorizer.jwt.claims otherwise).

The template's WebSocket API is served next to it on ws://127.0.0.1:PORT+1 (devtools/websocket_gateway.py), and
its management API (`/@connections/{id}`, where the publishers post frames) on this HTTP port.

With a request log (devtools/request_log.py, as `make dev` runs it) each request prints one line, e.g.
`ListConversationsFunction GET /v1/conversations 200 12 ms`, instead of the handler's raw Powertools output.
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from devtools.auth import TokenRejected, verify_bearer
from devtools.docs import docs_answer
from devtools.lambda_runtime import invoke
from devtools.request_log import RequestLog, logged_invocation
from devtools.template import Route, Template, load_template, most_specific_first
from devtools.websocket_gateway import LocalWebSocketApi

# API Gateway's management API: POST (send a frame), GET (describe), DELETE (disconnect) one connection. AWS puts the
# stage before it (https://{api}.execute-api.{region}.amazonaws.com/{stage}/@connections/{id}); both forms work here.
_MANAGEMENT_PATH = re.compile(r"^(?:/[^/@]+)?/@connections/(?P<connection_id>[^/]+)$")

_TEXT_TYPES = ("application/json", "text/", "application/x-www-form-urlencoded", "application/xml")


def build_event(
    *,
    route: Route,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: dict[str, str],
    body: bytes,
    path_parameters: dict[str, str],
    claims: dict[str, str] | None,
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    query: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    content_type = headers.get("content-type", "")
    is_text = not body or content_type.startswith(_TEXT_TYPES)
    try:
        text_body = body.decode("utf-8") if is_text else None
    except UnicodeDecodeError:
        text_body = None
    now = datetime.now(UTC)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": headers.get("host", "127.0.0.1"),
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route.route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": text_body is None,
    }
    if "cookie" in headers:
        event["cookies"] = [cookie.strip() for cookie in headers["cookie"].split(";")]
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        # API Gateway hands the handler its path parameters decoded (`%C2%B2` arrives as `²`).
        event["pathParameters"] = {name: unquote(value) for name, value in path_parameters.items()}
    if body:
        event["body"] = text_body if text_body is not None else base64.b64encode(body).decode()
    if claims is not None:
        event["requestContext"]["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    return event


class LocalGateway(ThreadingHTTPServer):
    daemon_threads = True
    # The listen backlog: socketserver's default of 5 made the kernel drop or reset bursts of 20-40 simultaneous
    # connects before the server accepted them; API Gateway takes such bursts.
    request_queue_size = 128
    template: Template
    websocket: LocalWebSocketApi | None
    request_log: RequestLog | None

    def __init__(
        self,
        address: tuple[str, int],
        template: Template | None = None,
        websocket_port: int | None = None,
        request_log: RequestLog | None = None,
    ) -> None:
        """`websocket_port` defaults to the HTTP port + 1 (any free port when the HTTP port is 0). Without a
        `request_log` nothing is printed per request and the handlers' output goes where it always goes."""
        super().__init__(address, _RequestHandler)
        template = template or load_template()
        self.template = replace(template, routes=most_specific_first(template.routes))
        self.request_log = request_log
        self.websocket = None
        if template.websocket is not None:
            host, port = str(address[0]), int(address[1])
            chosen = websocket_port if websocket_port is not None else (port + 1 if port else 0)
            self.websocket = LocalWebSocketApi(self.template, host=host, port=chosen, request_log=request_log).start()

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def websocket_url(self) -> str | None:
        return self.websocket.url if self.websocket is not None else None

    def server_close(self) -> None:
        super().server_close()
        if self.websocket is not None:
            self.websocket.stop()


class _RequestHandler(BaseHTTPRequestHandler):
    server: LocalGateway
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the request log's line (or, without one, the handlers' own structured logs) says what happened

    def _respond(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _dispatch(self) -> None:
        started = time.perf_counter()
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]},{value}" if key in headers else value
        management = _MANAGEMENT_PATH.match(url.path)
        if management is not None and self.server.websocket is not None:
            self._manage_connection(unquote(management["connection_id"]), body)
            return
        for route in self.server.template.routes:
            path_parameters = route.match(self.command, url.path)
            if path_parameters is not None:
                break
        else:
            # Not an API route: Swagger UI and api/openapi.yaml under /docs, else API Gateway's 404.
            docs = docs_answer(self.command, url.path)
            if docs is not None:
                self._respond(*docs)
                return
            if self.server.request_log is not None:
                self.server.request_log.note("-", f"{self.command} {url.path}", 404, started=started, detail="no route")
            self._respond(404, {"Content-Type": "application/json"}, b'{"message":"Not Found"}')
            return
        claims = None
        if route.authorized:
            try:
                claims = verify_bearer(headers.get("authorization"))
            except TokenRejected:
                if self.server.request_log is not None:
                    self.server.request_log.note(
                        route.function, f"{self.command} {url.path}", 401, started=started, detail="JWT authorizer"
                    )
                self._respond(401, {"Content-Type": "application/json"}, b'{"message":"Unauthorized"}')
                return
        event = build_event(
            route=route,
            method=self.command,
            raw_path=url.path,
            raw_query=url.query,
            headers=headers,
            body=body,
            path_parameters=path_parameters,
            claims=claims,
            source_ip=self.client_address[0],
        )
        function = self.server.template.functions[route.function]
        what = f"{self.command} {url.path}"
        answer: tuple[int, dict[str, str], bytes] | None = None
        with logged_invocation(self.server.request_log, route.function, what, started=started) as call:
            try:
                result = invoke(function, event)
            except Exception:
                # Lambda logs a crashed function's stack trace: here on the terminal (with the request's line).
                call.crashed()
            else:
                answer = _http_response(result)
                call.status = answer[0]
        if answer is None:  # the crash: API Gateway answers with exactly this 500
            self._respond(500, {"Content-Type": "application/json"}, b'{"message":"Internal Server Error"}')
            return
        status, response_headers, response_body = answer
        response_headers.setdefault("X-Local-Duration-Ms", f"{(time.perf_counter() - started) * 1000:.1f}")
        self._respond(status, response_headers, response_body)

    def _manage_connection(self, connection_id: str, body: bytes) -> None:
        """The management API, answered as AWS answers it (a 410 GoneException for a connection that is not open).
        Requests are signed by boto3; as with any local endpoint, the signature is not checked."""
        websocket = self.server.websocket
        assert websocket is not None
        gone = {"Content-Type": "application/json", "x-amzn-ErrorType": "GoneException"}
        if self.command == "POST":
            if websocket.post_to_connection(connection_id, body):
                self._respond(200, {"Content-Type": "application/json"}, b"")
            else:
                self._respond(410, gone, b'{"message":"Gone"}')
        elif self.command == "GET":
            description = websocket.describe_connection(connection_id)
            if description is None:
                self._respond(410, gone, b'{"message":"Gone"}')
            else:
                self._respond(200, {"Content-Type": "application/json"}, json.dumps(description).encode())
        elif self.command == "DELETE":
            if websocket.close_connection(connection_id):
                self._respond(204, {}, b"")
            else:
                self._respond(410, gone, b'{"message":"Gone"}')
        else:
            self._respond(404, {"Content-Type": "application/json"}, b'{"message":"Not Found"}')

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch


def _http_response(result: Any) -> tuple[int, dict[str, str], bytes]:
    """Payload v2.0 response rules: a dict with statusCode is used as it is; anything else is JSON with 200."""
    if not (isinstance(result, dict) and "statusCode" in result):
        return 200, {"Content-Type": "application/json"}, json.dumps(result).encode()
    headers = {name: str(value) for name, value in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[name] = ",".join(str(value) for value in values)
    body = result.get("body") or ""
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    return int(result["statusCode"]), headers, raw


def serve(
    port: int, host: str = "127.0.0.1", websocket_port: int | None = None, request_log: RequestLog | None = None
) -> LocalGateway:
    return LocalGateway((host, port), websocket_port=websocket_port, request_log=request_log)
