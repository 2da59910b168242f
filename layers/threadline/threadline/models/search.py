"""The search API's query and answers: `GET /v1/search` (also `/api/v1/search`)."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from threadline.models.query import MAX_CURSOR_CHARS, MAX_PAGE_SIZE, QueryModel, UtcDatetime
from threadline.models.validation import reject_nul
from threadline.vocabulary import SEARCH_TYPES, Direction, Platform, SearchType

MAX_SEARCH_CHARS = 200
DEFAULT_SEARCH_PAGE = 20


class SearchQuery(QueryModel):
    q: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_SEARCH_CHARS),
        AfterValidator(reject_nul),
    ] = Field(description="words (each also matched as a prefix), a name, a username, or any part of a phone number")
    type: SearchType = Field(default="messages", description="what to look through")
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_SEARCH_PAGE
    cursor: Annotated[str, Field(min_length=1, max_length=MAX_CURSOR_CHARS)] | None = Field(
        default=None, description="next_cursor of the previous page, with the same q and type"
    )


SEARCH_QUERY_EXPLANATIONS = {
    "q": f"q is required: 1 to {MAX_SEARCH_CHARS} characters (after trimming spaces), without NUL characters",
    "type": f"type must be one of {', '.join(SEARCH_TYPES)}",
    "limit": f"limit must be an integer between 1 and {MAX_PAGE_SIZE}",
    "cursor": "cursor is not valid; use next_cursor from the previous page",
}


class SearchConversation(BaseModel):
    """The conversation a hit belongs to."""

    id: int
    platform: Platform
    contact_name: str | None
    last_message_at: UtcDatetime | None


class MessageHit(BaseModel):
    id: int
    content: str
    direction: Direction
    private: bool = Field(description="a private note of the agents (never sent to the customer)")
    sent_at: UtcDatetime


class ContactHit(BaseModel):
    id: UUID
    name: str | None
    identifier: str = Field(description="the phone number (+digits) or the username")


class SearchResult(BaseModel):
    kind: Literal["message", "contact", "conversation"]
    rank: float = Field(description="higher is better: ts_rank_cd for words, trigram similarity for contacts")
    message: MessageHit | None = Field(description="the matching message (for conversations: the best one)")
    contact: ContactHit | None = Field(description="the matching contact (type=contacts)")
    conversation: SearchConversation | None = Field(
        description="the hit's conversation (a contact's most recent one; null for a contact without any)"
    )


class SearchResults(BaseModel):
    q: str
    type: SearchType
    results: list[SearchResult]
    next_cursor: str | None = Field(description="pass as cursor for the next page; null on the last page")
