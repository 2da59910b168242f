"""A conversation's messages, in two contracts:

- `GET /api/v1/conversations/{id}/messages` (docs/conversations-api.md): newest first,
  `before` cursor and `limit`, plain `{"error": ...}` errors;
- `GET /api/agent/conversations/{conversation_id}/messages` (docs/agent-messages-api.md):
  `page`, `limit`, `order`, the `{success, data}` envelope and `{success: false, error: {code, message, details}}`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from threadline.errors import InvalidRequest
from threadline.models.attachments import Attachment
from threadline.models.message_details import MessageDetails, Referral
from threadline.models.query import MAX_CURSOR_CHARS, MAX_PAGE_SIZE, QueryModel, UtcDatetime
from threadline.models.validation import NulFreeText
from threadline.vocabulary import QUOTED_CHARS, SortOrder

DEFAULT_MESSAGE_PAGE = 50
# Keeps (page - 1) * limit a modest bigint; a page past the last one is simply empty.
MAX_PAGE_NUMBER = 10_000_000

AuthorType = Literal["customer", "agent", "system"]


class MessageListQuery(QueryModel):
    before: Annotated[str, Field(min_length=1, max_length=MAX_CURSOR_CHARS)] | None = Field(
        default=None, description="next_cursor of the previous page: messages older than its last one"
    )
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_MESSAGE_PAGE


MESSAGE_QUERY_EXPLANATIONS = {
    "before": "before is not valid; use next_cursor from the previous page",
    "limit": f"limit must be an integer between 1 and {MAX_PAGE_SIZE}",
}


class AgentMessageQuery(QueryModel):
    page: Annotated[int, Field(ge=1, le=MAX_PAGE_NUMBER)] = 1
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_MESSAGE_PAGE
    order: SortOrder = "asc"


# Worded as the seed words its example ("Limit must be between 1 and 100").
AGENT_QUERY_EXPLANATIONS = {
    "page": f"Page must be an integer between 1 and {MAX_PAGE_NUMBER}",
    "limit": f"Limit must be between 1 and {MAX_PAGE_SIZE}",
    "order": "Order must be 'asc' or 'desc'",
}
AGENT_CONVERSATION_ID_EXPLANATION = "Conversation ID must be a positive integer"


def refuse_agent_parameters(reason: str) -> InvalidRequest:
    """The agent contract's 400: the same message every time, the reason in `details`."""
    return InvalidRequest("Invalid request parameters", details=reason)


class Author(BaseModel):
    id: str = Field(description="the customer's contact id, the agent's user id, the tenant's id, or \"system\"")
    name: str
    type: AuthorType
    avatar_url: str | None
    initials: str = Field(description="first letters of the first and last words of the name, upper-cased")


class MessagePricing(BaseModel):
    """What Meta says a WhatsApp message costs, from its latest status that moved the message forward."""

    category: str | None = Field(
        description="Meta's pricing category: marketing, utility, authentication, authentication_international,"
        " marketing_lite, service (a non-template reply), referral_conversion, ..."
    )
    type: str | None = Field(
        description="regular (charged), free_customer_service or free_entry_point; null in older payloads"
    )
    pricing_model: str | None = Field(description="PMP (per message, since July 2025) or CBP (per conversation)")
    billable: bool | None = Field(description="Meta's own billable flag (deprecated by Meta in favour of type)")
    charged: bool = Field(
        description="whether Meta charges for it: type regular, or billable true when there is no type. Never"
        " assumed from the category: service replies are charged per message from October 2026"
    )


class BillingConversation(BaseModel):
    """Meta's billing conversation, when a status names one (conversation-based pricing, free entry points)."""

    id: str | None
    origin_type: str | None = Field(description="e.g. marketing, utility, service, referral_conversion")
    expires_at: UtcDatetime | None


class ReactionAuthor(BaseModel):
    type: Literal["customer", "agent"]
    id: str | None = Field(description="the customer's contact id, or the agent's user id (the tenant's when unknown)")
    name: str | None


class Reaction(BaseModel):
    emoji: str
    by: ReactionAuthor
    at: UtcDatetime = Field(description="when it was given")


MAX_EMOJI_CHARS = 32  # one emoji, however many code points it is made of (a family, a flag, skin tones)
ONE_EMOJI_EXPLANATION = 'must be one emoji, or "" to remove the reaction'


def _one_emoji(value: str) -> str:
    # Python cannot count grapheme clusters by itself: what is surely not one emoji is refused here (text, spaces,
    # anything long), the rest is Meta's to judge (it refuses a reaction that is not an emoji).
    if value and (len(value) > MAX_EMOJI_CHARS or value.isascii() or any(char.isspace() for char in value)):
        raise ValueError(ONE_EMOJI_EXPLANATION)
    return value


class ReactionRequest(BaseModel):
    """`PUT .../messages/{message_id}/reaction`: the business's reaction on a message; `""` takes it away."""

    model_config = ConfigDict(strict=True, frozen=True, extra="forbid")

    emoji: Annotated[NulFreeText, AfterValidator(_one_emoji)] = Field(
        description='one emoji (at most 32 characters, no spaces); "" removes the business\'s reaction'
    )


class MessageReactions(BaseModel):
    """A message's reactions after an agent's change, as both message views show them."""

    conversation_id: int
    message_id: int
    reactions: list[Reaction]


class QuotedMessage(BaseModel):
    """The message a message quotes (WhatsApp's reply to a message: Meta's `context.id`)."""

    id: int
    content: str = Field(description=f"its first {QUOTED_CHARS} characters")
    author: Author


class AgentMessage(BaseModel):
    id: int
    body: str
    is_agent: bool
    is_system_message: bool
    is_private: bool = Field(description="a private note: agents only, never sent to the customer")
    created_at: UtcDatetime = Field(description="when the message was sent")
    author: Author
    attachments: list[Attachment]
    pricing: MessagePricing | None = Field(description="what Meta charges for an outbound WhatsApp message, once known")
    billing_conversation: BillingConversation | None
    edited_at: UtcDatetime | None = Field(description="when the customer last edited it (its text is the new one)")
    deleted_at: UtcDatetime | None = Field(description="when the customer deleted it: its content is hidden")
    reactions: list[Reaction] = Field(description="one per side (the customer's, the business's), oldest first")
    reply_to: QuotedMessage | None = Field(
        description="the message it quotes; null when none, or one Threadline does not know"
    )
    forwarded: bool = Field(description="WhatsApp marked it forwarded")
    frequently_forwarded: bool = Field(description="WhatsApp marked it forwarded many times")
    details: MessageDetails | None = Field(description="its typed data (location, contacts, order, ...), by `kind`")
    referral: Referral | None = Field(description="the ad or post the customer came from")


class AgentMessagePage(BaseModel):
    conversation_id: int
    page: int
    limit: int
    total: int
    total_pages: int
    messages: list[AgentMessage]


class AgentMessagesResponse(BaseModel):
    success: Literal[True] = True
    data: AgentMessagePage


class DeliveryError(BaseModel):
    code: int | None
    title: str | None
    details: str | None


class MessageView(BaseModel):
    id: int
    direction: Literal["inbound", "outbound"]
    type: str
    content: str
    status: str = Field(description="received (inbound); pending, sent, delivered, read or failed (outbound)")
    sent_at: UtcDatetime
    is_system: bool
    private: bool = Field(description="a private note: agents only, never sent to the customer")
    author: Author
    attachments: list[Attachment]
    error: DeliveryError | None = Field(description="why an outbound message failed, when it did")
    pricing: MessagePricing | None = Field(description="what Meta charges for an outbound WhatsApp message, once known")
    billing_conversation: BillingConversation | None
    edited_at: UtcDatetime | None = Field(description="when the customer last edited it (its text is the new one)")
    deleted_at: UtcDatetime | None = Field(description="when the customer deleted it: its content is hidden")
    reactions: list[Reaction] = Field(description="one per side (the customer's, the business's), oldest first")
    reply_to: QuotedMessage | None = Field(
        description="the message it quotes; null when none, or one Threadline does not know"
    )
    forwarded: bool = Field(description="WhatsApp marked it forwarded")
    frequently_forwarded: bool = Field(description="WhatsApp marked it forwarded many times")
    details: MessageDetails | None = Field(description="its typed data (location, contacts, order, ...), by `kind`")
    referral: Referral | None = Field(description="the ad or post the customer came from")


class MessageList(BaseModel):
    conversation_id: int
    total: int
    limit: int
    messages: list[MessageView] = Field(description="newest first")
    next_cursor: str | None = Field(description="pass as `before` for older messages; null at the oldest")
