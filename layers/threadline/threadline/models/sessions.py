"""Requests and responses of the workspace session API (docs/session-messages-api.md), and of
the creation of workspaces and sessions.

The seed's one validation message, "Message is required and must be a string", answers a body without a usable
message (absent, not a string, empty or blank); every other problem is a 400 naming its field.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from threadline.errors import InvalidRequest
from threadline.models.timestamps import JsTimestamp
from threadline.models.validation import describe_validation_error, json_object, reject_nul

MESSAGE_REQUIRED = "Message is required and must be a string"
SESSION_NOT_FOUND = "Session not found or message could not be saved"
WORKSPACE_NOT_FOUND = "Workspace not found"
DEFAULT_CHANNEL = "api"
DEFAULT_CONTEXT_TYPE = "workspace"
# Far beyond a chat message, well inside Lambda's 6 MB payload and a model's context window.
MAX_MESSAGE_CHARS = 100_000
MAX_METADATA_BYTES = 16_384
# A capture body holds one message (at most 100,000 characters; as JSON escapes up to 6 bytes each) and 16 KB of
# metadata; 1 MiB leaves room for both. Creating a workspace or session carries a name or title of 200 characters.
MAX_CAPTURE_BODY_BYTES = 1_048_576
MAX_CREATE_BODY_BYTES = 16_384


def _serialised_metadata(value: dict[str, Any]) -> dict[str, Any]:
    encoded = json.dumps(value, ensure_ascii=False)
    # jsonb, like text, cannot hold U+0000.
    if "\\u0000" in encoded:
        raise ValueError("must not contain NUL characters")
    if len(encoded.encode()) > MAX_METADATA_BYTES:
        raise ValueError(f"must be at most {MAX_METADATA_BYTES} bytes as JSON")
    return value


Label = Annotated[str, StringConstraints(min_length=1, max_length=100), AfterValidator(reject_nul)]
ThreadId = Annotated[str, StringConstraints(min_length=1, max_length=256), AfterValidator(reject_nul)]
Metadata = Annotated[dict[str, Any], AfterValidator(_serialised_metadata)]
Timestamp = JsTimestamp


class CaptureRequest(BaseModel):
    """A capture body. `message` is checked first, on its own, for the seed's exact wording."""

    model_config = ConfigDict(strict=True, frozen=True, extra="ignore", populate_by_name=True)

    message: str
    channel: Label = DEFAULT_CHANNEL
    metadata: Metadata = Field(default_factory=dict)
    claude_session_id: ThreadId | None = Field(default=None, alias="claudeSessionId")
    context_type: Label = Field(default=DEFAULT_CONTEXT_TYPE, alias="contextType")
    process: bool = False


# JavaScript clients send `null` for "not given": these fields then take their defaults.
_NULL_MEANS_DEFAULT = frozenset({"channel", "metadata", "claudeSessionId", "contextType", "process"})


def _json_object(body: str | bytes | None) -> dict[str, Any]:
    if body is None or not body.strip():
        raise InvalidRequest(MESSAGE_REQUIRED)
    return json_object(body, max_bytes=MAX_CAPTURE_BODY_BYTES)


def parse_capture_request(body: str | bytes | None, *, allow_processing: bool) -> CaptureRequest:
    """Validate a capture body; `allow_processing` for the user endpoint (the only one with `process`)."""
    payload = _json_object(body)
    message = payload.get("message")
    if not isinstance(message, str) or not message.strip():
        raise InvalidRequest(MESSAGE_REQUIRED)
    if len(message) > MAX_MESSAGE_CHARS:
        raise InvalidRequest(f"message: must be at most {MAX_MESSAGE_CHARS} characters")
    if "\x00" in message:
        raise InvalidRequest("message: must not contain NUL characters")
    fields = {name: value for name, value in payload.items() if not (name in _NULL_MEANS_DEFAULT and value is None)}
    if not allow_processing:
        fields.pop("process", None)
    try:
        return CaptureRequest.model_validate(fields)
    except ValidationError as error:
        raise InvalidRequest(describe_validation_error(error)) from None


class CreateWorkspaceRequest(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="ignore", populate_by_name=True)

    name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(reject_nul)
    ]
    config_id: Annotated[str | None, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,200}$")] = Field(
        default=None, alias="configId"
    )


class CreateSessionRequest(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")

    title: (
        Annotated[
            str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(reject_nul)
        ]
        | None
    ) = None


def _parse_optional_object(body: str | bytes | None) -> dict[str, Any]:
    if body is None or not body.strip():
        return {}
    return json_object(body, max_bytes=MAX_CREATE_BODY_BYTES)


def parse_create_workspace_request(body: str | bytes | None) -> CreateWorkspaceRequest:
    try:
        return CreateWorkspaceRequest.model_validate(_parse_optional_object(body))
    except ValidationError as error:
        problem = error.errors(include_url=False)[0]
        if problem["type"] == "string_pattern_mismatch":
            raise InvalidRequest("configId: 1-200 letters, digits, '_', '.', ':' or '-'") from None
        raise InvalidRequest(describe_validation_error(error)) from None


def parse_create_session_request(body: str | bytes | None) -> CreateSessionRequest:
    try:
        return CreateSessionRequest.model_validate(_parse_optional_object(body))
    except ValidationError as error:
        raise InvalidRequest(describe_validation_error(error)) from None


class _Camel(BaseModel):
    model_config = ConfigDict(frozen=True)


class SessionMessage(_Camel):
    """A message as the user endpoint answers it (userMessage, assistantMessage)."""

    id: int
    uuid: str
    workspaceId: str
    # Threadline's agents have uuids, not the seed's numeric user ids; the author is named by `username`.
    workspaceUserId: int | None = None
    workspaceSessionId: str
    workspaceSessionUuid: str
    role: str
    content: str
    contentType: str
    messageType: str = "message"
    contextType: str
    contextId: str
    channel: str
    username: str  # never null: threadline.domain.sessions.capture.message_username
    attachments: list[Any] | None = None
    summarizedUpto: int | None = None
    createdAt: Timestamp
    updatedAt: Timestamp


class CapturedMessage(_Camel):
    """A message as the assistant endpoint (and the deprecated one) answers it."""

    id: int
    workspaceId: str
    workspaceSessionId: str
    role: str
    content: str
    contentType: str
    channel: str
    createdAt: Timestamp


class WorkspaceView(_Camel):
    id: str
    configId: str | None
    name: str
    createdAt: Timestamp


class SessionView(_Camel):
    id: str
    uuid: str
    workspaceId: str
    title: str | None
    createdAt: Timestamp


class CapturedAssistantMessage(BaseModel):
    success: Literal[True]
    message: CapturedMessage


class CapturedUserMessage(BaseModel):
    success: Literal[True]
    userMessage: SessionMessage
    assistantMessage: SessionMessage | None = Field(description="the model's reply with process=true, else null")


class ReplyFailed(BaseModel):
    """process=true and no reply could be produced or saved: the user message *is* stored."""

    success: Literal[True]
    userMessage: SessionMessage
    processingError: str


class WorkspaceCreated(BaseModel):
    success: Literal[True]
    workspace: WorkspaceView


class SessionCreated(BaseModel):
    success: Literal[True]
    session: SessionView
