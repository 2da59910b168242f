"""The scaffold of the local fakes of outside HTTP services (fake_graph, fake_bedrock): a real HTTP server on
127.0.0.1 that records every request and answers from a script of replies, falling back to the fake's sandbox.

A fake subclasses `ScriptedHttpFake`, names its recorded-request type, and implements `_answer(request)`; this module
owns everything else: the server thread, keep-alive connections, the recorded requests, the script, and a stop
that wakes delayed replies and closes every connection, so tests never hang on a fake they have finished with.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar, Generic, Self, TypeVar

Answer = tuple[int, dict[str, str], bytes]  # status, headers, body


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # without the query string
    headers: dict[str, str]  # names in lower case
    body: bytes
    json: Any  # the parsed body, or None when it is not JSON
    received_at: float  # time.monotonic()
    client_port: int  # the client's side of the connection: equal ports mean a reused (pooled) connection
    query: str = ""  # the query string, without its "?"


RequestT = TypeVar("RequestT", bound=RecordedRequest)
ReplyT = TypeVar("ReplyT")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    fake: ScriptedHttpFake[Any, Any]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, so the client's connection pool is exercised as with the real service

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        self.server.fake._track(self.connection)

    def finish(self) -> None:
        self.server.fake._untrack(self.connection)
        with contextlib.suppress(OSError):  # the client hung up first (a timeout on its side)
            super().finish()

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            parsed: Any = json.loads(body) if body else None
        except ValueError:
            parsed = None
        fake = self.server.fake
        request = fake.request_type(
            method=self.command,
            path=self.path.split("?", 1)[0],
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            json=parsed,
            received_at=time.monotonic(),
            client_port=int(self.client_address[1]),
            query=self.path.split("?", 1)[1] if "?" in self.path else "",
        )
        answer = fake._answer(request)
        if answer is None:
            self.close_connection = True  # stopped while delaying: never answer
            return
        status, headers, content = answer
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)
        except OSError:
            self.close_connection = True  # the client gave up waiting


class ScriptedHttpFake(ABC, Generic[RequestT, ReplyT]):
    """An outside HTTP service on 127.0.0.1:<free port>. Thread-safe; use as a context manager.

    Subclasses set `request_type`, `name` (for messages), `thread_name` and `methods` (the HTTP methods it takes; the
    others get the standard library's 501), and implement `_answer`."""

    request_type: type[RequestT]
    name: ClassVar[str]
    thread_name: ClassVar[str]
    methods: ClassVar[tuple[str, ...]] = ("GET", "POST")

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, announce: Callable[[str], None] | None = None):
        self._address = (host, port)
        self._announce = announce
        self._lock = threading.Lock()
        self._script: deque[ReplyT] = deque()
        self._requests: list[RequestT] = []
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        if self._server is not None:
            return self
        self._stopping.clear()
        handler = type(
            f"{type(self).__name__}Handler", (_Handler,), {f"do_{m}": _Handler._handle for m in self.methods}
        )
        server = _Server(self._address, handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=self.thread_name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()  # wakes delayed replies, which then never answer
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:  # kept-alive connections would otherwise outlive the server
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError(f"{self.name} is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def requests(self) -> list[RequestT]:
        """Every request received so far, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def pending_replies(self) -> int:
        with self._lock:
            return len(self._script)

    def script(self, *replies: ReplyT) -> None:
        """Queue answers for the next requests the fake serves from its script, in order; once they are used up the
        sandbox answers again."""
        with self._lock:
            self._script.extend(replies)

    def reset(self) -> None:
        with self._lock:
            self._script.clear()
            self._requests.clear()
            self._forget()

    def _forget(self) -> None:
        """Clear a subclass's own records; called by `reset` under the lock."""

    @abstractmethod
    def _answer(self, request: RequestT) -> Answer | None:
        """The answer to `request`, or None to close the connection without answering (the fake was stopped)."""

    def _receive(self, request: RequestT, *, scripted: bool) -> ReplyT | None:
        """Record `request` and, when it is one the script answers (`scripted`), take the next scripted reply."""
        with self._lock:
            self._requests.append(request)
            return self._script.popleft() if scripted and self._script else None

    def _stopped_during(self, delay_seconds: float) -> bool:
        """Wait `delay_seconds` (if any); True when the fake was stopped meanwhile."""
        return bool(delay_seconds) and self._stopping.wait(delay_seconds)

    def _track(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)

    def _untrack(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)
