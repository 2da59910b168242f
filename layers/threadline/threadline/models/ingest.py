"""The Messaging Ingest API's request and response (docs/ingest-api.md).

Limits, chosen to fit Lambda's 6 MB synchronous payload (API Gateway HTTP APIs allow 10 MB):
a body of at most 6,000,000 bytes, at most 200 conversations and 1,000 messages per request,
message content of at most 16,384 characters and media URLs of at most 2,048; `sent_at` from 1970-01-01T00:00:00Z
to one day after now.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from threadline.models.validation import parse_json_body
from threadline.vocabulary import Direction, Platform

MISSING_FIELDS_MESSAGE = "Missing required fields: platform, connection_id, conversations"
MAX_BODY_BYTES = 6_000_000
MAX_CONVERSATIONS = 200
MAX_MESSAGES = 1_000
MAX_CONTENT_CHARS = 16_384
MAX_MEDIA_URL_CHARS = 2_048

MessageType = Literal["text", "image", "audio", "video", "file", "location"]
MEDIA_TYPES_REQUIRING_URL = frozenset({"image", "audio", "video", "file"})


# A message's time must be one every reader can handle and every ordering can trust. Values at the calendar's edges
# (9999-12-31T23:59:59-23:59 is year 10000 in UTC, 0001-01-01T00:00:00+05:00 is year 0) are stored by PostgreSQL but
# cannot be read back into Python, and one of them used to make the tenant's conversation list a 500 for every agent.
# No messaging platform predates the Unix epoch; a day of slack ahead covers any connector's clock skew, while a
# later time would pin its conversation to the top of the inbox (and keep the contact's window open) for years.
EARLIEST_SENT_AT = datetime(1970, 1, 1, tzinfo=UTC)
MAX_SENT_AT_AHEAD = timedelta(days=1)
SENT_AT_RANGE_MESSAGE = "must be between 1970-01-01T00:00:00Z and one day after now"
_EARLIEST_SENT_AT_SECONDS = EARLIEST_SENT_AT.timestamp()
_MAX_SENT_AT_AHEAD_SECONDS = MAX_SENT_AT_AHEAD.total_seconds()


def _utc(value: datetime) -> datetime:
    # ISO 8601 without an offset is read as UTC, as the seed's Python example sends it.
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    # In POSIX seconds: comparing datetimes that carry pydantic's tzinfo cost twice as much (1.2 us a message).
    if not _EARLIEST_SENT_AT_SECONDS <= value.timestamp() <= time.time() + _MAX_SENT_AT_AHEAD_SECONDS:
        raise ValueError(SENT_AT_RANGE_MESSAGE)
    return value


# No per-field NUL check here (NulFreeText elsewhere): a request reaches this model only through
# parse_ingest_request, whose parse_json_body refuses a NUL in any field, naming the field, before the model runs.
# The per-field checks could never fire, and cost a Python call per string (a 500-message request parsed in
# 1.09 ms with them, 0.94 ms without: best of 40).
Text = str
Identifier = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]
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
    return parse_json_body(
        IngestRequest,
        body,
        max_bytes=MAX_BODY_BYTES,
        empty_message=MISSING_FIELDS_MESSAGE,
        too_large_message=f"Request body too large: at most {MAX_BODY_BYTES} bytes; split the batch",
        missing_fields_message=MISSING_FIELDS_MESSAGE,
    )
