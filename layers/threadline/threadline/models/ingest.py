"""The Messaging Ingest API's request and response (../shared/seeds/messaging-ingest-api.md).

Limits, chosen to fit Lambda's 6 MB synchronous payload (API Gateway HTTP APIs allow 10 MB):
a body of at most 6,000,000 bytes, at most 200 conversations and 1,000 messages per request,
message content of at most 16,384 characters and media URLs of at most 2,048.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from threadline.errors import InvalidRequest
from threadline.models.validation import describe_validation_error

MISSING_FIELDS_MESSAGE = "Missing required fields: platform, connection_id, conversations"
MAX_BODY_BYTES = 6_000_000
MAX_CONVERSATIONS = 200
MAX_MESSAGES = 1_000
MAX_CONTENT_CHARS = 16_384
MAX_MEDIA_URL_CHARS = 2_048

Platform = Literal["whatsapp", "signal", "telegram", "wechat"]
Direction = Literal["inbound", "outbound"]
MessageType = Literal["text", "image", "audio", "video", "file", "location"]
MEDIA_TYPES_REQUIRING_URL = frozenset({"image", "audio", "video", "file"})


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold U+0000; rejecting it here keeps the 400 ahead of any write.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _utc(value: datetime) -> datetime:
    # ISO 8601 without an offset is read as UTC, as the seed's Python example sends it.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


Text = Annotated[str, AfterValidator(_no_nul)]
Identifier = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256), AfterValidator(_no_nul)
]
Timestamp = Annotated[datetime, AfterValidator(_utc)]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True)


class IngestMessage(_Strict):
    id: Identifier
    direction: Direction
    type: MessageType
    content: Annotated[Text, Field(max_length=MAX_CONTENT_CHARS)]
    media_url: Annotated[Text, Field(max_length=MAX_MEDIA_URL_CHARS)] | None = None
    sent_at: Timestamp

    @model_validator(mode="after")
    def _media_needs_url(self) -> IngestMessage:
        if self.type in MEDIA_TYPES_REQUIRING_URL and not self.media_url:
            raise ValueError(f"media_url is required for {self.type} messages")
        return self


class IngestConversation(_Strict):
    external_conversation_id: Identifier
    participant_identifier: Identifier
    participant_name: Annotated[Text, Field(max_length=200)] | None = None
    messages: list[IngestMessage]


class IngestRequest(_Strict):
    platform: Platform
    connection_id: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    conversations: Annotated[list[IngestConversation], Field(max_length=MAX_CONVERSATIONS)]

    @model_validator(mode="after")
    def _within_batch_limits(self) -> IngestRequest:
        total = sum(len(conversation.messages) for conversation in self.conversations)
        if total > MAX_MESSAGES:
            raise ValueError(f"a request may carry at most {MAX_MESSAGES} messages (got {total}); split the batch")
        seen: dict[str, int] = {}
        for index, conversation in enumerate(self.conversations):
            first = seen.setdefault(conversation.external_conversation_id, index)
            if first != index:
                raise ValueError(
                    f"conversations[{index}].external_conversation_id repeats conversations[{first}]; "
                    "send each conversation once per request"
                )
        return self


ResultStatus = str  # "created" | "updated" | "no_new_messages" | "error: <message>"


class IngestResult(BaseModel):
    conversation_id: int | None
    external_conversation_id: str
    messages_added: int
    status: ResultStatus


class IngestResponse(BaseModel):
    success: bool = True
    processed: int
    results: list[IngestResult]


def parse_ingest_request(body: str | bytes | None) -> IngestRequest:
    """Validate a raw request body, raising InvalidRequest with the seed's wording where the seed has one."""
    if body is None or not body.strip():
        raise InvalidRequest(MISSING_FIELDS_MESSAGE)
    if len(body) > MAX_BODY_BYTES:
        raise InvalidRequest(f"Request body too large: at most {MAX_BODY_BYTES} bytes; split the batch")
    try:
        return IngestRequest.model_validate_json(body)
    except ValidationError as error:
        problems = error.errors(include_url=False)
        if problems[0]["type"] == "json_invalid":
            raise InvalidRequest("Request body must be valid JSON") from None
        if problems[0]["type"] == "model_type" and not problems[0]["loc"]:
            raise InvalidRequest("Request body must be a JSON object") from None
        if any(problem["type"] == "missing" and len(problem["loc"]) == 1 for problem in problems):
            raise InvalidRequest(MISSING_FIELDS_MESSAGE) from None
        raise InvalidRequest(describe_validation_error(error)) from None
