"""The conversations API's queries and answers (docs/conversations-api.md):
`GET /api/v1/conversations` (also `/v1/conversations`) and `GET /api/v1/conversations/{id}`."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from threadline.models.annotations import MAX_LABEL_CHARS, LabelName
from threadline.models.ownership import AssigneeSummary, TeamSummary
from threadline.models.query import MAX_CURSOR_CHARS, MAX_PAGE_SIZE, QueryModel, UtcDatetime
from threadline.vocabulary import (
    CONVERSATION_SORTS,
    CONVERSATION_STATUSES,
    PRIORITIES,
    ConversationSort,
    ConversationStatus,
    Platform,
    Priority,
)

DEFAULT_CONVERSATION_PAGE = 20
# Deeper than this, offsets are refused in favour of the cursor, which costs the same at any depth.
MAX_CONVERSATION_OFFSET = 1_000_000


def _comma_list(value: object) -> object:
    """`a,b` (API Gateway joins a repeated parameter the same way) into its values; duplicates dropped."""
    if isinstance(value, str):
        return tuple(dict.fromkeys(part.strip() for part in value.split(",")))
    return value


# One value or several, as `status=open,pending` or `status=open&status=pending`.
StatusList = Annotated[tuple[ConversationStatus, ...], Field(min_length=1), BeforeValidator(_comma_list)]
PriorityList = Annotated[tuple[Priority, ...], Field(min_length=1), BeforeValidator(_comma_list)]


class ConversationListQuery(QueryModel):
    location_id: UUID | None = None
    status: StatusList | None = Field(default=None, description="one status or a comma list")
    assignee: Literal["me", "unassigned"] | UUID | None = Field(
        default=None, description="`me` (the token's agent), `unassigned`, or an agent's id"
    )
    team: UUID | None = Field(default=None, description="a team's id")
    label: LabelName | None = Field(default=None, description="a label's name, matched case-insensitively")
    priority: PriorityList | None = Field(default=None, description="one priority or a comma list")
    sort: ConversationSort = Field(
        default="last_activity",
        description="`last_activity` (newest first), `waiting_since` (oldest waiting first, then those nobody "
        "waits on) or `priority` (urgent first, then newest activity)",
    )
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_CONVERSATION_PAGE
    offset: Annotated[int, Field(ge=0, le=MAX_CONVERSATION_OFFSET)] = 0
    cursor: Annotated[str, Field(min_length=1, max_length=MAX_CURSOR_CHARS)] | None = Field(
        default=None, description="next_cursor of the previous page, with the same filters and sort"
    )

    @model_validator(mode="after")
    def _one_way_to_page(self) -> ConversationListQuery:
        if self.cursor is not None and self.offset:
            raise ValueError("use either cursor or offset, not both")
        return self


CONVERSATION_QUERY_EXPLANATIONS = {
    "location_id": "location_id must be a UUID",
    "status": f"status must be one of {', '.join(CONVERSATION_STATUSES)} (or a comma list of them)",
    "assignee": "assignee must be me, unassigned or an agent id (a UUID)",
    "team": "team must be a team id (a UUID)",
    "label": f"label must be a label name of 1 to {MAX_LABEL_CHARS} characters, without NUL characters",
    "priority": f"priority must be one of {', '.join(PRIORITIES)} (or a comma list of them)",
    "sort": f"sort must be one of {', '.join(CONVERSATION_SORTS)}",
    "limit": f"limit must be an integer between 1 and {MAX_PAGE_SIZE}",
    "offset": f"offset must be an integer between 0 and {MAX_CONVERSATION_OFFSET:,}; use cursor for deeper pages",
    "cursor": "cursor is not valid; use next_cursor from the previous page",
}


class ContactSummary(BaseModel):
    id: UUID
    name: str | None
    identifier: str
    avatar_url: str | None


class CustomerServiceWindow(BaseModel):
    """The conversation's reply window, by its channel's rule (its connection's reply_window_hours and
    max_replies_per_window): WhatsApp 24 hours per business number, WeChat 48 hours and 5 replies, Telegram and
    Signal none. Free replies may be sent while it is open (or when there is none); on WhatsApp only templates once
    it has expired."""

    status: Literal["open", "expired", "none"] = Field(
        description="`none`: this channel has no reply window, a reply may always be sent"
    )
    expires_at: UtcDatetime | None = Field(
        description="when it closes (or closed); null if the customer never wrote here, or the channel has no window"
    )
    replies_left: int | None = Field(
        default=None,
        description="replies that may still be sent in this window, present only when the channel caps them "
        "(WeChat: 5)",
        exclude_if=lambda replies_left: replies_left is None,
    )


class ConversationSummary(BaseModel):
    id: int
    platform: Platform
    status: ConversationStatus
    location_id: UUID | None
    contact: ContactSummary
    last_message_preview: str | None = Field(max_length=100)
    last_message_at: UtcDatetime | None
    unread_count: int = Field(
        description="the caller's unread messages: customer messages and other agents' notes that arrived after "
        "the caller's read horizon (POST .../read; replying or writing a note moves it too); before the caller "
        "has read or written in the conversation, customer messages since the last reply"
    )
    window: CustomerServiceWindow
    assignee: AssigneeSummary | None = Field(description="the agent who owns it; null when unassigned")
    team: TeamSummary | None
    priority: Priority | None
    labels: list[str] = Field(description="its labels' names, alphabetically")
    snoozed_until: UtcDatetime | None = Field(
        description="when a snoozed conversation wakes; null while snoozed = when the customer writes again"
    )
    waiting_since: UtcDatetime | None = Field(
        description="when the oldest inbound message no agent has answered arrived; null once answered"
    )


class ConversationList(BaseModel):
    conversations: list[ConversationSummary]
    total: int = Field(description="matching conversations, counted up to a cap (see total_is_exact)")
    total_is_exact: bool = Field(description="false when more conversations match than were counted")
    limit: int
    offset: int
    next_cursor: str | None = Field(description="pass as cursor for the next page; null on the last page")


class Channel(BaseModel):
    """The connection that brought the conversation in."""

    connection_id: str
    platform: Platform
    phone_number_id: str | None
    is_active: bool


class LocationSummary(BaseModel):
    id: UUID
    name: str


class BillableMessages(BaseModel):
    """The conversation's messages Meta charges for, as its status webhooks reported them."""

    total: int
    by_category: dict[str, int] = Field(
        description="Meta's pricing category (marketing, utility, authentication, service, ...) -> messages; a"
        " category Meta did not name is counted as unknown"
    )


class ConversationDetail(ConversationSummary):
    external_conversation_id: str
    message_count: int
    created_at: UtcDatetime
    updated_at: UtcDatetime
    channel: Channel | None = Field(description="null when the connection was deleted")
    location: LocationSummary | None
    # The inbox fields (assignee, team, priority, labels, snoozed_until, waiting_since) come from the summary.
    version: int = Field(description='moved by every change an agent can make; the ETag is W/"<version>"')
    billable_messages: BillableMessages = Field(
        description="messages Meta charges for (type regular, or billable without a type), by category"
    )


def conversation_etag(version: int) -> str:
    """A conversation's ETag: weak (it names the version of what an agent can change, not the bytes)."""
    return f'W/"{version}"'


class ConversationChange(BaseModel):
    """`PATCH /v1/conversations/{id}`: any of these fields; an absent field stays as it is, null clears it."""

    model_config = ConfigDict(extra="forbid")

    status: ConversationStatus | None = Field(default=None, description="open, pending, snoozed or resolved")
    snoozed_until: UtcDatetime | None = Field(
        default=None,
        description="with status snoozed (or alone, which snoozes): when it wakes, in the future; null or absent ="
        " until the customer writes again",
    )
    assignee_id: UUID | None = Field(
        default=None, description="an agent of the tenant (of the team, if any); null unassigns"
    )
    team_id: UUID | None = Field(default=None, description="a team of the tenant; null removes the team")
    priority: Priority | None = Field(default=None, description="low, medium, high, urgent; null removes it")

    def given(self) -> set[str]:
        """The fields the request carries (null included)."""
        return set(self.model_fields_set)


class InboxCountsQuery(QueryModel):
    status: StatusList = Field(default=("open",), description="one status or a comma list (default open)")
    teams: bool = Field(default=False, description="true: also the counts of each team")


INBOX_COUNTS_QUERY_EXPLANATIONS = {
    "status": f"status must be one of {', '.join(CONVERSATION_STATUSES)} (or a comma list of them)",
    "teams": "teams must be true or false",
}


class TeamCounts(BaseModel):
    id: UUID
    name: str
    all: int = Field(description="the team's conversations in the statuses asked for")
    unassigned: int = Field(description="those of them nobody owns")


class InboxCounts(BaseModel):
    """Exact at the moment of the read; kept by the writes (migration 0014), never counted per call."""

    status: list[ConversationStatus] = Field(description="the statuses counted")
    mine: int | None = Field(description="assigned to the calling agent; null for a token that names no agent")
    unassigned: int
    all: int
    teams: list[TeamCounts] | None = Field(default=None, description="with teams=true: every team, by name")
