"""What agents add to a conversation for each other: labels, private notes, and their own read state.

`PUT /v1/conversations/{id}/labels` `{"labels": [...]}` -> the conversation's labels;
`GET /v1/labels` -> the tenant's labels with how many conversations carry each;
`POST /v1/conversations/{id}/notes` `{"content": "..."}` -> 201 with the note (a message, `private: true`);
`POST /v1/conversations/{id}/read` `{"up_to_message_id"?}` -> the caller's read state.
Each also under `/api/v1/...`.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from threadline.models.ids import MAX_ID
from threadline.models.validation import ModelT, NulFreeText, parse_json_body, reject_nul

MAX_LABEL_CHARS = 50
MAX_LABELS_PER_CONVERSATION = 20
# The request may repeat a label in other spellings; what it may not do is name more distinct labels than the cap.
MAX_LABELS_IN_REQUEST = 200
# As ingest's message content.
MAX_NOTE_CHARS = 16_384
MAX_BODY_BYTES = 256_000

# Surrounding whitespace is never part of a label a person means ("vip " is "vip").
LabelName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_LABEL_CHARS),
    AfterValidator(reject_nul),
]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="forbid")


def _require_text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty or only whitespace")
    return value


class LabelsRequest(_Strict):
    labels: Annotated[list[LabelName], Field(max_length=MAX_LABELS_IN_REQUEST)] = Field(
        description=f"the conversation's whole set (replaces it): each 1..{MAX_LABEL_CHARS} characters, matched "
        f"case-insensitively (a new label keeps the first spelling written), repeats collapse, at most "
        f"{MAX_LABELS_PER_CONVERSATION} distinct; [] removes every label"
    )

    @field_validator("labels")
    @classmethod
    def _at_most_the_cap(cls, labels: list[str]) -> list[str]:
        if len(distinct_labels(labels)) > MAX_LABELS_PER_CONVERSATION:
            raise ValueError(f"at most {MAX_LABELS_PER_CONVERSATION} labels per conversation")
        return labels


def distinct_labels(labels: list[str]) -> list[str]:
    """The labels in request order, each once, matched case-insensitively (the first spelling wins)."""
    seen: dict[str, str] = {}
    for label in labels:
        seen.setdefault(label.lower(), label)
    return list(seen.values())


class NoteRequest(_Strict):
    content: Annotated[NulFreeText, Field(min_length=1, max_length=MAX_NOTE_CHARS), AfterValidator(_require_text)]


class ReadRequest(_Strict):
    up_to_message_id: Annotated[int, Field(ge=1, le=MAX_ID)] | None = Field(
        default=None, description="read up to and including this message of the conversation; default: the newest"
    )


class ConversationLabels(BaseModel):
    conversation_id: int
    labels: list[str] = Field(description="as each label was first written, in the order they were given")
    version: int = Field(description="the conversation's version (its ETag) after the change")


class LabelSummary(BaseModel):
    id: UUID
    name: str
    conversation_count: int = Field(description="conversations carrying the label now (kept by the writes)")


class LabelList(BaseModel):
    labels: list[LabelSummary] = Field(
        description="every label of the tenant, by name; a label no conversation carries any more stays, with 0"
    )


class ReadState(BaseModel):
    conversation_id: int
    last_read_message_id: int | None = Field(
        description="the caller's read horizon (it never moves backwards); null in a conversation without messages"
    )
    unread_count: int = Field(description="the caller's unread messages after the horizon")


def parse_body(model: type[ModelT], body: str | bytes | None) -> ModelT:
    return parse_json_body(
        model,
        body,
        max_bytes=MAX_BODY_BYTES,
        empty_message="Request body is required",
        too_large_message=f"Request body too large: at most {MAX_BODY_BYTES} bytes",
    )


def parse_optional_body(model: type[ModelT], body: str | bytes | None) -> ModelT:
    """For routes whose whole body is optional (every field has a default)."""
    if body is None or not body.strip():
        return model()
    return parse_body(model, body)
