"""The event log's catch-up API: `GET /v1/events?after=<seq>&limit=1..500[&conversation_id=][&types=a,b]` (also
`/api/v1/events`) -> {events: [{seq, type, occurred_at, conversation_id, data}], next_after}.

Pass `next_after` back as `after` to read on; a page shorter than `limit` means the client has caught up. An
`after` older than what the log keeps (at least 7 days) is 410: reload instead of silently missing changes.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from threadline.models.ids import MAX_ID
from threadline.models.query import QueryModel
from threadline.models.timestamps import JsTimestamp
from threadline.vocabulary import EVENT_TYPES, EventType

MAX_EVENTS_PAGE = 500
DEFAULT_EVENTS_PAGE = 100

EVENTS_QUERY_EXPLANATIONS = {
    "after": "after: must be a whole number from 0 (a seq from an earlier page or frame)",
    "limit": f"limit: must be a whole number from 1 to {MAX_EVENTS_PAGE}",
    "conversation_id": "conversation_id: must be a positive whole number",
    "types": f"types: must be a comma-separated list of {', '.join(EVENT_TYPES)}",
}


class EventsQuery(QueryModel):
    after: Annotated[int, Field(ge=0, le=2**63 - 1)] = Field(
        default=0, description="the last seq the client has (0: from the oldest kept)"
    )
    limit: Annotated[int, Field(ge=1, le=MAX_EVENTS_PAGE)] = Field(default=DEFAULT_EVENTS_PAGE)
    conversation_id: Annotated[int | None, Field(ge=1, le=MAX_ID)] = Field(
        default=None, description="only this conversation's events"
    )
    types: list[EventType] | None = Field(default=None, description="only these types (comma-separated)")

    @field_validator("types", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        return [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value


class Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    seq: int = Field(description="the tenant's event number: monotonic and gap-free")
    type: EventType
    occurred_at: JsTimestamp
    conversation_id: int | None
    data: dict[str, Any] = Field(description="per type, see docs/events.md")


class EventsPage(BaseModel):
    model_config = ConfigDict(frozen=True)

    events: list[Event]
    next_after: int = Field(description="pass back as `after` to read on")
