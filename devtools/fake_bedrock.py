"""A fake of Amazon Bedrock's Converse API: a real HTTP server on 127.0.0.1, for tests and for `make dev`.

boto3's `bedrock-runtime` client reaches it through BEDROCK_ENDPOINT_URL and speaks to it exactly as to Bedrock:
`POST /model/{modelId}/converse` with Converse's JSON, answered with Converse's JSON, errors named by the
`x-amzn-ErrorType` header as Bedrock names them (moto does not implement Converse). Requests are not authenticated.

Tests script answers (`script(...)`: a text reply, an error status, a delay) and read back what was asked
(`requests`, each with the parsed Converse body). Unscripted, it answers as a sandbox: a canned reply quoting the
user's latest message, which is what `make dev` uses when no model is configured.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal
from urllib.parse import unquote

_CONVERSE_PATH = re.compile(r"^/model/(?P<model_id>[^/]+)/converse$")
SANDBOX_MODEL_ID = "sandbox.local-echo-v1:0"


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    model_id: str | None  # decoded from the path; None when the path is not Converse's
    headers: dict[str, str]  # names in lower case
    json: Any  # the parsed body, or None when it is not JSON
    received_at: float  # time.monotonic()

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list((self.json or {}).get("messages") or [])

    @property
    def texts(self) -> list[tuple[str, str]]:
        """(role, text) per message, its text blocks joined: what the model was shown."""
        return [
            (str(message.get("role")), "".join(block.get("text", "") for block in message.get("content") or []))
            for message in self.messages
        ]


@dataclass(frozen=True)
class Reply:
    """One scripted answer. `kind`: "sandbox" answers as unscripted; "text" answers Converse's success body with
    `text`; "error" answers `status` with Bedrock's error shape (`error_type`, `message`)."""

    kind: Literal["sandbox", "text", "error"] = "sandbox"
    text: str = ""
    status: int = 200
    error_type: str = ""
    message: str = ""
    stop_reason: str = "end_turn"
    delay_seconds: float = 0.0


def text(reply: str, *, stop_reason: str = "end_turn") -> Reply:
    return Reply(kind="text", text=reply, stop_reason=stop_reason)


def error(status: int, error_type: str, message: str) -> Reply:
    return Reply(kind="error", status=status, error_type=error_type, message=message)


def validation_error(message: str = "Malformed input request, please reformat your input and try again.") -> Reply:
    return error(400, "ValidationException", message)


def throttled() -> Reply:
    return error(429, "ThrottlingException", "Too many requests, please wait before trying again.")


def access_denied() -> Reply:
    return error(
        403,
        "AccessDeniedException",
        "User: arn:aws:sts::123456789012:assumed-role/threadline-capture/fn is not authorized to perform: "
        "bedrock:InvokeModel",
    )


def server_error() -> Reply:
    return error(500, "InternalServerException", "The server encountered an internal error.")


def delayed(seconds: float, then: Reply | None = None) -> Reply:
    """Wait before answering (`then`, or the sandbox answer): past the client's read timeout, this is a timeout."""
    return replace(then or Reply(), delay_seconds=seconds)


def _converse_body(reply_text: str, stop_reason: str, request: RecordedRequest) -> bytes:
    prompt_characters = sum(len(text) for _, text in request.texts)
    usage = {"inputTokens": prompt_characters // 4 + 1, "outputTokens": len(reply_text) // 4 + 1}
    usage["totalTokens"] = usage["inputTokens"] + usage["outputTokens"]
    body = {
        "output": {"message": {"role": "assistant", "content": [{"text": reply_text}]}},
        "stopReason": stop_reason,
        "usage": usage,
        "metrics": {"latencyMs": 5},
    }
    return json.dumps(body).encode()


def sandbox_reply(request: RecordedRequest) -> str:
    latest = next((text for role, text in reversed(request.texts) if role == "user"), "")
    quoted = latest if len(latest) <= 200 else latest[:200] + "..."
    return f"(sandbox reply from the local fake Bedrock) You said: {quoted}"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    fake: FakeBedrock


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, as boto3's connection pool expects of Bedrock

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
        path = self.path.split("?", 1)[0]
        found = _CONVERSE_PATH.match(path)
        request = RecordedRequest(
            method=self.command,
            path=path,
            model_id=unquote(found["model_id"]) if found else None,
            headers={name.lower(): value for name, value in self.headers.items()},
            json=parsed,
            received_at=time.monotonic(),
        )
        status, headers, answer = self.server.fake._answer(request)
        if status is None:
            self.close_connection = True  # stopped while delaying: never answer
            return
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
        except OSError:
            self.close_connection = True  # the client gave up waiting

    do_GET = do_POST = _handle


def _error_answer(status: int, error_type: str, message: str) -> tuple[int, dict[str, str], bytes]:
    headers = {
        "Content-Type": "application/json",
        "x-amzn-ErrorType": f"{error_type}:http://internal.amazon.com/coral/com.amazon.bedrock/",
        "x-amzn-RequestId": "00000000-0000-4000-8000-000000000000",
    }
    return status, headers, json.dumps({"message": message}).encode()


class FakeBedrock:
    """Bedrock's Converse endpoint on 127.0.0.1:<free port>. Thread-safe; use as a context manager."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, announce: Callable[[str], None] | None = None):
        self._address = (host, port)
        self._announce = announce
        self._lock = threading.Lock()
        self._script: deque[Reply] = deque()
        self._requests: list[RecordedRequest] = []
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # Reply constructors, also importable from this module.
    text = staticmethod(text)
    error = staticmethod(error)
    validation_error = staticmethod(validation_error)
    throttled = staticmethod(throttled)
    access_denied = staticmethod(access_denied)
    server_error = staticmethod(server_error)
    delayed = staticmethod(delayed)

    def start(self) -> FakeBedrock:
        if self._server is not None:
            return self
        self._stopping.clear()
        server = _Server(self._address, _Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-bedrock", daemon=True
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

    def __enter__(self) -> FakeBedrock:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake Bedrock endpoint is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    def script(self, *replies: Reply) -> None:
        """Queue answers for the next Converse calls, in order; once they are used up the sandbox answers again."""
        with self._lock:
            self._script.extend(replies)

    def reset(self) -> None:
        with self._lock:
            self._script.clear()
            self._requests.clear()

    def _track(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)

    def _untrack(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)

    def _answer(self, request: RecordedRequest) -> tuple[int | None, dict[str, str], bytes]:
        is_converse = request.method == "POST" and request.model_id is not None
        with self._lock:
            self._requests.append(request)
            reply = self._script.popleft() if is_converse and self._script else Reply()
        if reply.delay_seconds and self._stopping.wait(reply.delay_seconds):
            return None, {}, b""
        if reply.kind == "error":
            return _error_answer(reply.status, reply.error_type, reply.message)
        if not is_converse:
            return _error_answer(404, "UnknownOperationException", "The fake only implements Converse")
        if not isinstance(request.json, dict) or not request.messages:
            return _error_answer(400, "ValidationException", "messages: at least one message is required")
        if reply.kind == "text":
            return 200, {"Content-Type": "application/json"}, _converse_body(reply.text, reply.stop_reason, request)
        answer = sandbox_reply(request)
        if self._announce is not None:
            self._announce(f"SANDBOX: language model request for {request.model_id} answered locally (not Bedrock)")
        return 200, {"Content-Type": "application/json"}, _converse_body(answer, "end_turn", request)


def _aws_credentials_available(env: MutableMapping[str, str]) -> bool:
    if env.get("AWS_ACCESS_KEY_ID") or env.get("AWS_PROFILE"):
        return True
    import botocore.session

    try:
        return botocore.session.get_session().get_credentials() is not None
    except Exception:  # a broken profile: the developer's to fix, not ours to paper over
        return True


def _forget_cached_settings() -> None:
    # Never imports the domain module: that would create Powertools' Logger and Metrics before `make dev` has
    # exported the template's POWERTOOLS_* settings, which they read once.
    from threadline.llm_config import get_llm_settings

    get_llm_settings.cache_clear()
    llm = sys.modules.get("threadline.domain.llm")
    if llm is not None:
        llm.reset_llm_client()


@dataclass
class LocalBedrock:
    """Where `make dev`'s replies come from: the sandbox (stopped by the caller) or the developer's configuration."""

    sandbox: FakeBedrock | None
    notice: str


_SETTINGS = ("BEDROCK_MODEL_ID", "BEDROCK_ENDPOINT_URL")


def configure_local_bedrock(
    environ: MutableMapping[str, str] | None = None, *, announce: Callable[[str], None] | None = None
) -> LocalBedrock:
    """With neither BEDROCK_MODEL_ID nor BEDROCK_ENDPOINT_URL set by the developer, start the sandbox and point the
    functions at it (process=true then answers with a canned reply, nothing reaches AWS); otherwise leave the
    developer's configuration alone. Call before the template's environment is exported, so only the developer's
    own settings count."""
    env = os.environ if environ is None else environ
    # Present counts, even empty: BEDROCK_MODEL_ID= (empty) asks for no model at all, to try processingError.
    if any(name in env for name in _SETTINGS):
        model = env.get("BEDROCK_MODEL_ID") or "(none: replies answer 'No language model is configured')"
        where = env.get("BEDROCK_ENDPOINT_URL") or f"Amazon Bedrock in {env.get('BEDROCK_REGION') or 'AWS_REGION'}"
        _forget_cached_settings()
        return LocalBedrock(sandbox=None, notice=f"Session replies (process=true) use model {model} at {where}")
    sandbox = FakeBedrock(announce=announce).start()
    env["BEDROCK_MODEL_ID"] = SANDBOX_MODEL_ID
    env["BEDROCK_ENDPOINT_URL"] = sandbox.base_url
    # boto3 signs every request, even to the sandbox, and without credentials refuses to send: only when the
    # developer has none at all (env, profile, SSO...) does the sandbox get placeholder ones.
    if not _aws_credentials_available(env):
        env["AWS_ACCESS_KEY_ID"] = env["AWS_SECRET_ACCESS_KEY"] = "sandbox"  # noqa: S105 - never leaves this machine
    _forget_cached_settings()
    notice = (
        f"SANDBOX: session replies (process=true) come from a local fake Bedrock at {sandbox.base_url} with a canned "
        "answer; nothing reaches AWS (set BEDROCK_MODEL_ID, and AWS credentials, to use Amazon Bedrock)"
    )
    return LocalBedrock(sandbox=sandbox, notice=notice)
