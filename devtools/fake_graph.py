"""A fake of Meta's Graph API messages endpoint: a real HTTP server on 127.0.0.1, for tests and for `make dev`.

Tests script its answers per case (`script(...)` queues replies for the next POST /{version}/{phone-number-id}/messages
calls) and read back exactly what was sent (`requests`). With nothing scripted it behaves like Meta for a valid
request, which is what makes it `make dev`'s sandbox: it checks the bearer token's presence and the payload's basic
shape, answers Meta's success body with a fresh wamid, and refuses the rest with Meta's error body (190, 100).
A read receipt (the same path, `{"messaging_product": "whatsapp", "status": "read", "message_id": wamid}`) is
answered `{"success": true}` when well formed; `read_receipts` lists the ones received.
"""

from __future__ import annotations

import json
import re
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from devtools import fake_server
from devtools.fake_server import Answer, ScriptedHttpFake

_MESSAGES_PATH = re.compile(r"^/(?P<version>v\d+\.\d+)/(?P<phone_number_id>[^/]+)/messages$")
_MESSAGE_TYPES = frozenset(
    {
        "text",
        "image",
        "audio",
        "document",
        "video",
        "sticker",
        "template",
        "interactive",
        "location",
        "contacts",
        "reaction",
    }
)
_MEDIA_TYPES = frozenset({"image", "audio", "document", "video", "sticker"})
# A business-scoped user id: an ISO 3166 alpha-2 country code, a dot, alphanumerics (a parent BSUID has `ENT.`).
_BSUID = re.compile(r"^[A-Z]{2}\.(ENT\.)?[A-Za-z0-9]{1,128}$")


@dataclass(frozen=True)
class RecordedRequest(fake_server.RecordedRequest):
    @property
    def phone_number_id(self) -> str | None:
        found = _MESSAGES_PATH.match(self.path)
        return found["phone_number_id"] if found else None

    @property
    def is_send(self) -> bool:
        """Any POST to /messages (a message or a read receipt): what scripted replies answer."""
        return self.method == "POST" and self.phone_number_id is not None

    @property
    def is_read_receipt(self) -> bool:
        return self.is_send and isinstance(self.json, dict) and "status" in self.json


@dataclass(frozen=True)
class Reply:
    """One scripted answer. `kind`: "sandbox" answers as unscripted, "success" answers Meta's success body for the
    request's recipient, "raw" answers `status`, `headers` and `body` as given."""

    kind: Literal["sandbox", "success", "raw"] = "sandbox"
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    wamid: str | None = None
    delay_seconds: float = 0.0
    before: Callable[[], object] | None = None


def new_wamid() -> str:
    return f"wamid.HBgL{uuid.uuid4().hex.upper()}"


def success(wamid: str | None = None) -> Reply:
    return Reply(kind="success", wamid=wamid)


def meta_error(
    code: int,
    title: str,
    message: str | None = None,
    *,
    http_status: int = 400,
    subcode: int | None = None,
    details: str | None = None,
    error_type: str = "OAuthException",
    headers: dict[str, str] | None = None,
) -> Reply:
    """An error body exactly as Meta shapes it: the title folded into `message` as "(#code) title"."""
    error: dict[str, Any] = {
        "message": message or f"(#{code}) {title}",
        "type": error_type,
        "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": details or title},
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    error["fbtrace_id"] = f"A{uuid.uuid4().hex[:22]}"
    return Reply(
        kind="raw",
        status=http_status,
        body=json.dumps({"error": error}).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def rate_limited(*, retry_after: float | None = None, code: int = 130429) -> Reply:
    headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else None
    details = "Cloud API message throughput has been reached."
    return meta_error(code, "Rate limit hit", details=details, headers=headers)


def server_error(
    status: int = 500, body: str = "Internal Server Error", headers: dict[str, str] | None = None
) -> Reply:
    """A plain HTTP failure without Graph's error object, as a load balancer in front of Meta answers."""
    return Reply(
        kind="raw", status=status, body=body.encode(), headers={"Content-Type": "text/plain", **(headers or {})}
    )


def malformed_json(status: int = 200) -> Reply:
    """A reply that claims JSON and is cut off: the client cannot tell whether the message went out."""
    return Reply(
        kind="raw",
        status=status,
        body=b'{"messaging_product": "whatsapp", "messages": [{"id": "wamid.',
        headers={"Content-Type": "application/json"},
    )


def delayed(seconds: float, then: Reply | None = None) -> Reply:
    """Wait before answering (`then`, or the sandbox answer): past the client's read timeout, this is a timeout."""
    return replace(then or Reply(), delay_seconds=seconds)


def hook(before: Callable[[], object], then: Reply | None = None) -> Reply:
    """Run `before` once the request has been received and before answering (e.g. break the database meanwhile)."""
    return replace(then or Reply(), before=before)


def unused_local_url() -> str:
    """A URL on which nothing listens: connections to it are refused before anything is sent."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _graph_error(status: int, code: int, message: str, details: str | None = None) -> Answer:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code}
    if details:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    error["fbtrace_id"] = f"A{uuid.uuid4().hex[:22]}"
    return status, {"Content-Type": "application/json"}, json.dumps({"error": error}).encode()


def _read() -> Answer:
    return 200, {"Content-Type": "application/json"}, json.dumps({"success": True}).encode()


def _invalid(details: str) -> Answer:
    return _graph_error(400, 100, "(#100) Invalid parameter", details)


def _read_receipt_problem(payload: dict[str, Any]) -> str | None:
    """What Meta would refuse in a mark-as-read body; None when it looks valid."""
    if payload.get("messaging_product") != "whatsapp":
        return "The parameter messaging_product is required and must be 'whatsapp'."
    if payload.get("status") != "read":
        return "The parameter status must be 'read'."
    message_id = payload.get("message_id")
    if not isinstance(message_id, str) or not message_id.startswith("wamid."):
        return "The parameter message_id is required and must be a WhatsApp message id."
    if set(payload) - {"messaging_product", "status", "message_id", "typing_indicator"}:
        return "Unexpected parameters for a read receipt."
    return None


def _shape_problem(payload: Any) -> str | None:
    """What Meta would refuse in a /messages body, checked as far as the sandbox needs; None when it looks valid."""
    if not isinstance(payload, dict):
        return "The request body must be a JSON object."
    if payload.get("messaging_product") != "whatsapp":
        return "The parameter messaging_product is required and must be 'whatsapp'."
    if payload.get("recipient_type", "individual") != "individual":
        return "The parameter recipient_type must be 'individual'."
    to, recipient = payload.get("to"), payload.get("recipient")
    if to is None and isinstance(recipient, str) and _BSUID.match(recipient):
        pass  # a business-scoped user id (or parent BSUID): Meta's `recipient`, for users without a shared number
    elif not isinstance(to, str) or not any(char.isdigit() for char in to):
        return "The parameter to (a phone number) or recipient (a business-scoped user id) is required."
    message_type = payload.get("type", "text")
    if message_type not in _MESSAGE_TYPES:
        return f"Unsupported message type {message_type!r}."
    content = payload.get(message_type)
    if not isinstance(content, dict):
        return f"The parameter {message_type} is required and must be an object."
    if message_type == "text":
        body = content.get("body")
        if not isinstance(body, str) or not body.strip():
            return "The parameter text['body'] is required."
        if len(body) > 4096:
            return "The parameter text['body'] must be at most 4096 characters."
    elif message_type in _MEDIA_TYPES:
        if not content.get("link") and not content.get("id"):
            return f"The parameter {message_type} needs a link or an id."
        if "caption" in content and message_type in ("audio", "sticker"):
            return f"The parameter {message_type}['caption'] is not supported."
        if "filename" in content and message_type != "document":
            return f"The parameter {message_type}['filename'] is not supported."
    elif message_type == "reaction":
        # Meta's reaction: the wamid reacted to, and the emoji ("" removes the business's reaction).
        if not isinstance(content.get("message_id"), str) or not content["message_id"]:
            return "The parameter reaction['message_id'] is required."
        if not isinstance(content.get("emoji"), str):
            return "The parameter reaction['emoji'] is required (\"\" removes the reaction)."
    elif message_type == "template":
        language = content.get("language")
        if not content.get("name") or not (isinstance(language, dict) and language.get("code")):
            return "The parameters template['name'] and template['language']['code'] are required."
    return None


class FakeGraphApi(ScriptedHttpFake[RecordedRequest, Reply]):
    """Meta's Graph API messages endpoint on 127.0.0.1:<free port>. Thread-safe; use as a context manager.

    Scripted replies answer sends (POST /{version}/{phone-number-id}/messages) only; `hook_errors` holds what the
    scripted `hook` callbacks raised."""

    request_type = RecordedRequest
    name = "the fake Graph API"
    thread_name = "fake-graph-api"
    methods = ("GET", "POST", "PUT", "DELETE")

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, announce: Callable[[str], None] | None = None):
        super().__init__(host=host, port=port, announce=announce)
        self.hook_errors: list[BaseException] = []

    # Reply constructors, also importable from this module.
    success = staticmethod(success)
    meta_error = staticmethod(meta_error)
    rate_limited = staticmethod(rate_limited)
    server_error = staticmethod(server_error)
    malformed_json = staticmethod(malformed_json)
    delayed = staticmethod(delayed)
    hook = staticmethod(hook)

    @property
    def send_requests(self) -> list[RecordedRequest]:
        return [request for request in self.requests if request.is_send]

    @property
    def read_receipts(self) -> list[RecordedRequest]:
        return [request for request in self.requests if request.is_read_receipt]

    def _forget(self) -> None:
        self.hook_errors.clear()

    def _answer(self, request: RecordedRequest) -> Answer | None:
        reply = self._receive(request, scripted=request.is_send) or Reply()
        if reply.before is not None:
            try:
                reply.before()
            except BaseException as error:  # reported to the test through hook_errors; the reply still goes out
                with self._lock:
                    self.hook_errors.append(error)
        if self._stopped_during(reply.delay_seconds):
            return None
        if reply.kind == "raw":
            return reply.status, reply.headers, reply.body
        if not request.is_send:
            return _graph_error(400, 100, "Unsupported request - method type or path not supported by the fake")
        if reply.kind == "success":
            return _read() if request.is_read_receipt else self._accepted(request, reply.wamid)
        return self._sandbox(request)

    def _sandbox(self, request: RecordedRequest) -> Answer:
        authorization = request.headers.get("authorization", "")
        if not re.match(r"^Bearer \S+$", authorization):
            return _graph_error(401, 190, "Invalid OAuth access token - Cannot parse access token")
        if request.is_read_receipt:
            assert isinstance(request.json, dict)
            problem = _read_receipt_problem(request.json)
            return _invalid(problem) if problem is not None else _read()
        problem = _shape_problem(request.json)
        if problem is not None:
            return _invalid(problem)
        return self._accepted(request, None)

    def _accepted(self, request: RecordedRequest, wamid: str | None) -> Answer:
        payload = request.json if isinstance(request.json, dict) else {}
        recipient = str(payload.get("to") or payload.get("recipient") or "")
        wamid = wamid or new_wamid()
        # Meta answers `wa_id` for a send to a phone number and `user_id` for one to a BSUID.
        contact = (
            {"input": recipient, "wa_id": "".join(char for char in recipient if char.isdigit())}
            if payload.get("to")
            else {"input": recipient, "user_id": recipient}
        )
        body = {"messaging_product": "whatsapp", "contacts": [contact], "messages": [{"id": wamid}]}
        if self._announce is not None:
            self._announce(
                f"SANDBOX: {payload.get('type', 'text')} message to {recipient} "
                f"from {request.phone_number_id} accepted as {wamid} (not sent to WhatsApp)"
            )
        return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()
