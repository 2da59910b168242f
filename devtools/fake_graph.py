"""A fake of Meta's Graph API messages endpoint: a real HTTP server on 127.0.0.1, for tests and for `make dev`.

Tests script its answers per case (`script(...)` queues replies for the next POST /{version}/{phone-number-id}/messages
calls) and read back exactly what was sent (`requests`). With nothing scripted it behaves like Meta for a valid
request, which is what makes it `make dev`'s sandbox: it checks the bearer token's presence and the payload's basic
shape, answers Meta's success body with a fresh wamid, and refuses the rest with Meta's error body (190, 100).
A read receipt (the same path, `{"messaging_product": "whatsapp", "status": "read", "message_id": wamid}`) is
answered `{"success": true}` when well formed; `read_receipts` lists the ones received.

A WhatsApp Business Account's templates: `add_template(waba_id, ...)` (or `set_templates`) holds them, and
`GET /{version}/{waba-id}/message_templates?limit=&after=` answers them as Meta does, one page at a time
(`data`, `paging.cursors`, and `paging.next` while more follow; 25 a page unless `limit` says otherwise). An
unknown WABA is Meta's 100 error, except in `make dev`'s sandbox (`demo_templates=True`), where every WABA lists
DEMO_TEMPLATES; `template_requests` lists the reads.

Media, as Meta serves them: `add_media(content, mime_type)` files a medium under a new media id; `GET
/{version}/{media-id}` with a bearer token answers its metadata (url, mime_type, sha256 in hex, file_size as a
string, id; an unknown id is Meta's error 100), and the URL serves the bytes only with the bearer token and only for
`media_url_ttl_seconds` (Meta's URLs live about five minutes; an expired one answers 404). `media_unavailable(n)`
answers the next n media requests 503 (Meta's front end having a bad moment), then serves again. `POST
/{version}/{phone-number-id}/media` (an upload, multipart) answers a new media id and files the upload.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any, Literal
from urllib.parse import parse_qs, urlencode

from devtools import fake_server
from devtools.fake_server import Answer, ScriptedHttpFake

_MESSAGES_PATH = re.compile(r"^/(?P<version>v\d+\.\d+)/(?P<phone_number_id>[^/]+)/messages$")
_TEMPLATES_PATH = re.compile(r"^/(?P<version>v\d+\.\d+)/(?P<waba_id>[^/]+)/message_templates$")
DEFAULT_TEMPLATE_PAGE = 25
# What the sandbox lists for any WABA: one template of each parameter style.
DEMO_TEMPLATES: list[dict[str, Any]] = [
    {
        "id": "100000000000001",
        "name": "order_update",
        "language": "en_US",
        "status": "APPROVED",
        "category": "UTILITY",
        "quality_score": {"score": "GREEN"},
        "parameter_format": "POSITIONAL",
        "components": [
            {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}", "example": {"header_text": ["#1042"]}},
            {
                "type": "BODY",
                "text": "Hi {{1}}, your order is {{2}}.",
                "example": {"body_text": [["Ana", "on its way"]]},
            },
            {
                "type": "BUTTONS",
                "buttons": [
                    {
                        "type": "URL",
                        "text": "Track",
                        "url": "https://example.com/track/{{1}}",
                        "example": ["https://example.com/track/1042"],
                    }
                ],
            },
        ],
    },
    {
        "id": "100000000000002",
        "name": "appointment_reminder",
        "language": "en_US",
        "status": "APPROVED",
        "category": "UTILITY",
        "quality_score": {"score": "GREEN"},
        "parameter_format": "NAMED",
        "components": [
            {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["https://example.com/clinic.png"]}},
            {
                "type": "BODY",
                "text": "Hello {{first_name}}, see you on {{date}}.",
                "example": {
                    "body_text_named_params": [
                        {"param_name": "first_name", "example": "Ana"},
                        {"param_name": "date", "example": "May 4"},
                    ]
                },
            },
        ],
    },
    {
        "id": "100000000000003",
        "name": "spring_sale",
        "language": "en_US",
        "status": "PAUSED",
        "category": "MARKETING",
        "quality_score": {"score": "RED"},
        "parameter_format": "POSITIONAL",
        "components": [{"type": "BODY", "text": "Our spring sale starts today."}],
    },
]
_MEDIA_INFO_PATH = re.compile(r"^/(?P<version>v\d+\.\d+)/(?P<media_id>\d+)$")
_MEDIA_UPLOAD_PATH = re.compile(r"^/(?P<version>v\d+\.\d+)/(?P<phone_number_id>[^/]+)/media$")
_MEDIA_DOWNLOAD_PATH = re.compile(
    r"^/whatsapp_business/attachments/(?P<media_id>\d+)/(?P<expires>\d+)/(?P<sig>[0-9a-f]+)$"
)
MEDIA_URL_TTL_SECONDS = 300.0
# A 1x1 transparent PNG: what make dev's sandbox serves for a media id nobody filed.
SAMPLE_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6300010000000500010d0a2db40000000049454e44ae426082"
)
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
    def waba_id(self) -> str | None:
        found = _TEMPLATES_PATH.match(self.path)
        return found["waba_id"] if found and self.method == "GET" else None

    @property
    def is_read_receipt(self) -> bool:
        return self.is_send and isinstance(self.json, dict) and "status" in self.json


@dataclass(frozen=True)
class StoredMedia:
    media_id: str
    content: bytes
    mime_type: str
    sha256: str  # what GET /{media-id} claims (hex): the bytes' own digest unless a test says otherwise
    file_size: int
    uploaded_type: str | None = None  # the `type` field of an upload


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

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        announce: Callable[[str], None] | None = None,
        demo_templates: bool = False,
        invent_media: bool = False,
    ):
        super().__init__(host=host, port=port, announce=announce)
        # make dev's sandbox: an unknown media id is filed on first sight as a sample PNG (tests want Meta's 100).
        self.invent_media = invent_media
        self.hook_errors: list[BaseException] = []
        self._templates: dict[str, list[dict[str, Any]]] = {}
        self._demo_templates = demo_templates
        self.media: dict[str, StoredMedia] = {}
        self.media_url_ttl_seconds = MEDIA_URL_TTL_SECONDS
        self._media_failures = 0
        self._media_lock = threading.Lock()
        self._url_key = secrets.token_bytes(16)

    def set_templates(self, waba_id: str, templates: list[dict[str, Any]]) -> None:
        """The WABA's templates exactly as Meta lists them (`name`, `language`, `status`, `category`, ...)."""
        with self._lock:
            self._templates[waba_id] = [dict(template) for template in templates]

    def add_template(
        self,
        waba_id: str,
        name: str,
        *,
        language: str = "en_US",
        status: str = "APPROVED",
        category: str = "UTILITY",
        components: list[dict[str, Any]] | None = None,
        parameter_format: str = "POSITIONAL",
        quality: str = "GREEN",
        template_id: str | None = None,
    ) -> dict[str, Any]:
        template = {
            "name": name,
            "parameter_format": parameter_format,
            "components": components if components is not None else [{"type": "BODY", "text": f"{name} body"}],
            "language": language,
            "status": status,
            "category": category,
            "quality_score": {"score": quality},
            "id": template_id or str(uuid.uuid4().int)[:16],
        }
        with self._lock:
            self._templates.setdefault(waba_id, []).append(template)
        return template

    @property
    def template_requests(self) -> list[RecordedRequest]:
        return [request for request in self.requests if request.waba_id is not None]

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

    # -- media -----------------------------------------------------------------------------------------------------
    def add_media(
        self,
        content: bytes,
        mime_type: str,
        *,
        media_id: str | None = None,
        sha256: str | None = None,
        file_size: int | None = None,
    ) -> str:
        """File a medium (as if a customer had sent it) and return its media id. `sha256`/`file_size` override what
        the metadata claims (to test the copy's check)."""
        media_id = media_id or str(10**15 + secrets.randbelow(9 * 10**15))
        stored = StoredMedia(
            media_id=media_id,
            content=content,
            mime_type=mime_type,
            sha256=sha256 or hashlib.sha256(content).hexdigest(),
            file_size=len(content) if file_size is None else file_size,
        )
        with self._media_lock:
            self.media[media_id] = stored
        return media_id

    def media_unavailable(self, times: int = 1) -> None:
        """The next `times` media requests (metadata or download) answer 503."""
        with self._media_lock:
            self._media_failures += times

    def _media_failure(self) -> Answer | None:
        with self._media_lock:
            if self._media_failures <= 0:
                return None
            self._media_failures -= 1
        return 503, {"Content-Type": "text/plain"}, b"Service Unavailable"

    def _url_signature(self, media_id: str, expires: str) -> str:
        return hmac.new(self._url_key, f"{media_id}/{expires}".encode(), hashlib.sha256).hexdigest()[:32]

    def _media_info(self, request: RecordedRequest, media_id: str) -> Answer:
        if not re.match(r"^Bearer \S+$", request.headers.get("authorization", "")):
            return _graph_error(401, 190, "Invalid OAuth access token - Cannot parse access token")
        stored = self.media.get(media_id)
        if stored is None and self.invent_media:
            self.add_media(SAMPLE_PNG, "image/png", media_id=media_id)
            stored = self.media[media_id]
            if self._announce is not None:
                self._announce(f"SANDBOX: media {media_id} served as a sample PNG (not from WhatsApp)")
        if stored is None:
            return _graph_error(
                400, 100, f"Unsupported get request. Object with ID '{media_id}' does not exist", "Invalid media id"
            )
        expires = str(int((time.time() + self.media_url_ttl_seconds) * 1000))
        url = f"{self.base_url}/whatsapp_business/attachments/{media_id}/{expires}/{self._url_signature(media_id, expires)}"
        body = {
            "messaging_product": "whatsapp",
            "url": url,
            "mime_type": stored.mime_type,
            "sha256": stored.sha256,
            "file_size": str(stored.file_size),
            "id": media_id,
        }
        return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()

    def _media_download(self, request: RecordedRequest, media_id: str, expires: str, signature: str) -> Answer:
        if not re.match(r"^Bearer \S+$", request.headers.get("authorization", "")):
            return 401, {"Content-Type": "text/plain"}, b"Unauthorized"
        stored = self.media.get(media_id)
        if (
            stored is None
            or not hmac.compare_digest(signature, self._url_signature(media_id, expires))
            or int(expires) < time.time() * 1000
        ):
            return 404, {"Content-Type": "text/plain"}, b"URL signature expired"
        return 200, {"Content-Type": stored.mime_type}, stored.content

    def _media_upload(self, request: RecordedRequest) -> Answer:
        if not re.match(r"^Bearer \S+$", request.headers.get("authorization", "")):
            return _graph_error(401, 190, "Invalid OAuth access token - Cannot parse access token")
        content_type = request.headers.get("content-type", "")
        message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + request.body)
        parts = {part.get_param("name", header="content-disposition"): part for part in message.iter_parts()}
        file_part, product = parts.get("file"), parts.get("messaging_product")
        if file_part is None or product is None or product.get_content().strip() != "whatsapp":
            return _invalid("An upload needs messaging_product=whatsapp and a file.")
        payload = file_part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        uploaded_type = parts["type"].get_content().strip() if "type" in parts else None
        mime_type = file_part.get_content_type()
        if file_part.get_param("codecs") and mime_type == "audio/ogg":
            mime_type = f"audio/ogg; codecs={file_part.get_param('codecs')}"
        media_id = self.add_media(content, uploaded_type or mime_type)
        with self._media_lock:
            self.media[media_id] = replace(self.media[media_id], uploaded_type=uploaded_type)
        return 200, {"Content-Type": "application/json"}, json.dumps({"id": media_id}).encode()

    def _answer_media(self, request: RecordedRequest) -> Answer | None:
        if request.method == "GET" and (found := _MEDIA_INFO_PATH.match(request.path)):
            return self._media_failure() or self._media_info(request, found["media_id"])
        if request.method == "GET" and (found := _MEDIA_DOWNLOAD_PATH.match(request.path)):
            return self._media_failure() or self._media_download(
                request, found["media_id"], found["expires"], found["sig"]
            )
        if request.method == "POST" and _MEDIA_UPLOAD_PATH.match(request.path):
            return self._media_failure() or self._media_upload(request)
        return None

    def _answer(self, request: RecordedRequest) -> Answer | None:
        if not request.is_send and (media_answer := self._answer_media(request)) is not None:
            self._receive(request, scripted=False)
            return media_answer
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
        if request.waba_id is not None:
            return self._template_page(request)
        if not request.is_send:
            return _graph_error(400, 100, "Unsupported request - method type or path not supported by the fake")
        if reply.kind == "success":
            return _read() if request.is_read_receipt else self._accepted(request, reply.wamid)
        return self._sandbox(request)

    def _template_page(self, request: RecordedRequest) -> Answer:
        """One page of the WABA's templates; the cursor is the index of the page's first template."""
        authorization = request.headers.get("authorization", "")
        if not re.match(r"^Bearer \S+$", authorization):
            return _graph_error(401, 190, "Invalid OAuth access token - Cannot parse access token")
        assert request.waba_id is not None
        with self._lock:
            templates = self._templates.get(request.waba_id)
        if templates is None and self._demo_templates:
            templates = DEMO_TEMPLATES
        if templates is None:
            return _graph_error(
                400,
                100,
                f"Unsupported get request. Object with ID '{request.waba_id}' does not exist, cannot be loaded due to"
                " missing permissions, or does not support this operation.",
            )
        query = parse_qs(request.query)
        try:
            limit = int(query.get("limit", [str(DEFAULT_TEMPLATE_PAGE)])[0])
            start = int(base64.urlsafe_b64decode(query["after"][0]).decode()) if "after" in query else 0
        except (ValueError, binascii.Error):
            return _invalid("The parameters limit and after must be a number and a cursor this API handed out.")
        page = templates[start : start + max(limit, 1)]
        body: dict[str, Any] = {"data": page}
        if page:
            cursors = {
                "before": base64.urlsafe_b64encode(str(start).encode()).decode(),
                "after": base64.urlsafe_b64encode(str(start + len(page)).encode()).decode(),
            }
            body["paging"] = {"cursors": cursors}
            if start + len(page) < len(templates):
                version = _TEMPLATES_PATH.match(request.path)["version"]  # type: ignore[index]
                body["paging"]["next"] = (
                    f"{self.base_url}/{version}/{request.waba_id}/message_templates"
                    f"?{urlencode({'limit': limit, 'after': cursors['after']})}"
                )
        return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()

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
