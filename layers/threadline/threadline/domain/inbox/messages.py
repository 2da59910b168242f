"""A conversation's messages as the two read contracts show them: who wrote each one, and what it carries.

Authors: a system message is written by "system"; a message an agent sent from Threadline by that agent; an
outbound message without an agent (sent from the business's own phone and synced by a connector) by the business,
i.e. the tenant; an inbound one by the customer (the contact, named by its identifier when it has no name).

Totals come from conversations.message_count, which triggers keep exact (migration 0005), so no page counts rows.
"""

from __future__ import annotations

import math
import mimetypes
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit
from uuid import UUID

import psycopg

from threadline.aws.s3 import MediaBucket
from threadline.caller import Caller
from threadline.db.repositories.media import KeptMedia, find_kept_media
from threadline.db.repositories.messages import (
    ConversationHeader,
    MessageRow,
    TimelinePosition,
    find_conversation_header,
    list_messages_before,
    list_messages_page,
)
from threadline.db.tenancy import run_in_transaction
from threadline.domain.media.attachments import kept_attachment
from threadline.domain.pagination import (
    InvalidCursor,
    decode_cursor,
    encode_cursor,
    list_fingerprint,
    plan_numbered_page,
)
from threadline.errors import CONVERSATION_NOT_FOUND, InvalidRequest, NotFound
from threadline.models.message_details import stored_details, stored_referral
from threadline.models.messages import (
    AgentMessage,
    AgentMessagePage,
    AgentMessageQuery,
    AgentMessagesResponse,
    Attachment,
    Author,
    BillingConversation,
    DeliveryError,
    MessageList,
    MessageListQuery,
    MessagePricing,
    MessageView,
    QuotedMessage,
    Reaction,
)
from threadline.vocabulary import SortOrder

SYSTEM_AUTHOR_ID = "system"
SYSTEM_AUTHOR_NAME = "System"
UNNAMED_AGENT = "Agent"
# Only Python's built-in table: the answer must not depend on the host's /etc/mime.types.
_MIME_TYPES = mimetypes.MimeTypes(filenames=())
_UNKNOWN_MIME_TYPE = "application/octet-stream"
# Message types that may carry a medium (the others never have a message_media row).
_MEDIA_MESSAGE_TYPES = frozenset({"image", "audio", "video", "file"})
_OPPOSITE_ORDER: dict[SortOrder, SortOrder] = {"asc": "desc", "desc": "asc"}


def initials(name: str) -> str:
    """First letters of the first and last words, upper-cased ("John Smith" -> "JS"; one word -> one letter).
    A word's first letter or digit counts, so "+1 555" gives "15" and "@jane" gives "J"."""
    letters = [next((char for char in word if char.isalnum()), "") for word in name.split()]
    letters = [letter for letter in letters if letter]
    if not letters:
        return ""
    return (letters[0] + letters[-1] if len(letters) > 1 else letters[0]).upper()


def _author(name: str, **fields: Any) -> Author:
    return Author(name=name, initials=initials(name), **fields)


def _author_by(
    conversation: ConversationHeader,
    *,
    is_system: bool,
    direction: str,
    user_id: UUID | None,
    user_name: str | None,
    user_avatar_url: str | None,
) -> Author:
    if is_system:
        return _author(SYSTEM_AUTHOR_NAME, id=SYSTEM_AUTHOR_ID, type="system", avatar_url=None)
    if user_id is not None:
        return _author(user_name or UNNAMED_AGENT, id=str(user_id), type="agent", avatar_url=user_avatar_url)
    if direction == "outbound":
        return _author(conversation.tenant_name, id=str(conversation.tenant_id), type="agent", avatar_url=None)
    return _author(
        conversation.contact_name or conversation.contact_identifier,
        id=str(conversation.contact_id),
        type="customer",
        avatar_url=conversation.contact_avatar_url,
    )


def author_of(message: MessageRow, conversation: ConversationHeader) -> Author:
    return _author_by(
        conversation,
        is_system=message.is_system,
        direction=message.direction,
        user_id=message.author_user_id,
        user_name=message.author_name,
        user_avatar_url=message.author_avatar_url,
    )


def quoted_of(message: MessageRow, conversation: ConversationHeader) -> QuotedMessage | None:
    """What the message quotes: its first characters and who wrote it; None when it quotes nothing Threadline
    knows."""
    if message.quoted_id is None:
        return None
    author = _author_by(
        conversation,
        is_system=bool(message.quoted_is_system),
        direction=message.quoted_direction or "inbound",
        user_id=message.quoted_author_user_id,
        user_name=message.quoted_author_name,
        user_avatar_url=message.quoted_author_avatar_url,
    )
    return QuotedMessage(id=message.quoted_id, content=message.quoted_content or "", author=author)


def _extras(message: MessageRow, conversation: ConversationHeader) -> dict[str, Any]:
    """What both views show beside their own fields: edits and deletion, reactions, the quoted message, forwarding,
    typed data, the ad. A deleted message's content is hidden (its text is already empty): no data, no ad."""
    deleted = message.deleted_at is not None
    return {
        "edited_at": message.edited_at,
        "deleted_at": message.deleted_at,
        "reactions": [Reaction.model_validate(reaction) for reaction in message.reactions],
        "reply_to": quoted_of(message, conversation),
        "forwarded": message.forwarded,
        "frequently_forwarded": message.frequently_forwarded,
        "details": None if deleted else stored_details(message.details),
        "referral": None if deleted else stored_referral(message.referral),
    }


def attachments_of(
    message: MessageRow, kept: KeptMedia | None = None, bucket: MediaBucket | None = None
) -> list[Attachment]:
    """A message carries at most one medium: a kept one (copied into the media bucket) with its state and a presigned
    URL, else the URL the message came with, as given; never once the message is deleted."""
    if message.deleted_at is not None:
        return []
    if kept is not None:
        return [kept_attachment(kept, message_type=message.type, created_at=message.sent_at, bucket=bucket)]
    if not message.media_url:
        return []
    path = urlsplit(message.media_url).path
    file_name = unquote(PurePosixPath(path).name)
    mime_type = message.media_mime_type or _MIME_TYPES.guess_type(path)[0] or _UNKNOWN_MIME_TYPE
    return [
        Attachment(
            id=message.id,
            name=message.media_filename or file_name or f"{message.type}-{message.id}",
            size=message.media_size_bytes,
            type=mime_type,
            url=message.media_url,
            created_at=message.sent_at,
        )
    ]


def message_view(message: MessageRow, conversation: ConversationHeader, media: _PageMedia | None = None) -> MessageView:
    failed = message.error_code is not None or message.error_title is not None
    return MessageView(
        id=message.id,
        direction=message.direction,
        type=message.type,
        content=message.content,
        status=message.status,
        sent_at=message.sent_at,
        is_system=message.is_system,
        private=message.is_private,
        author=author_of(message, conversation),
        attachments=media.attachments(message) if media else attachments_of(message),
        error=DeliveryError(code=message.error_code, title=message.error_title, details=message.error_details)
        if failed
        else None,
        pricing=pricing_of(message),
        billing_conversation=billing_conversation_of(message),
        **_extras(message, conversation),
    )


def pricing_of(message: MessageRow) -> MessagePricing | None:
    if message.pricing is None:
        return None
    pricing = message.pricing
    billable = pricing.get("billable")
    return MessagePricing(
        category=pricing.get("category"),
        type=pricing.get("type"),
        pricing_model=pricing.get("pricing_model"),
        billable=billable if isinstance(billable, bool) else None,
        charged=message.charged,
    )


def billing_conversation_of(message: MessageRow) -> BillingConversation | None:
    if message.billing_conversation is None:
        return None
    conversation = message.billing_conversation
    return BillingConversation(
        id=conversation.get("id"),
        origin_type=conversation.get("origin_type"),
        expires_at=conversation.get("expires_at"),
    )


def _agent_message(message: MessageRow, conversation: ConversationHeader, media: _PageMedia) -> AgentMessage:
    author = author_of(message, conversation)
    return AgentMessage(
        id=message.id,
        body=message.content,
        is_agent=author.type == "agent",
        is_system_message=message.is_system,
        is_private=message.is_private,
        created_at=message.sent_at,
        author=author,
        attachments=media.attachments(message),
        pricing=pricing_of(message),
        billing_conversation=billing_conversation_of(message),
        **_extras(message, conversation),
    )


@dataclass(frozen=True)
class _PageMedia:
    """A page's kept media (one primary-key read, only when the page has media messages) and where they are."""

    kept: dict[int, KeptMedia]
    bucket: MediaBucket | None

    def attachments(self, message: MessageRow) -> list[Attachment]:
        return attachments_of(message, self.kept.get(message.id), self.bucket)


def _page_media(conn: psycopg.Connection[Any], rows: list[MessageRow]) -> _PageMedia:
    with_media = [row.id for row in rows if row.type in _MEDIA_MESSAGE_TYPES]
    return _PageMedia(find_kept_media(conn, with_media) if with_media else {}, MediaBucket.from_environment())


def message_list_fingerprint(conversation_id: int) -> str:
    return list_fingerprint("messages", conversation_id)


def conversation_messages(caller: Caller, conversation_id: int, query: MessageListQuery) -> MessageList:
    """Newest first; `before` continues after the last message of the previous page."""
    fingerprint = message_list_fingerprint(conversation_id)
    before = None
    if query.before is not None:
        try:
            sent_at, message_id = decode_cursor(query.before, fingerprint)
        except InvalidCursor as error:
            raise InvalidRequest(f"before is not valid for this conversation ({error})") from None
        if sent_at is None:
            raise InvalidRequest("before is not valid for this conversation (not a cursor)")
        before = TimelinePosition(sent_at, message_id)

    def read(conn: psycopg.Connection[Any]) -> tuple[ConversationHeader | None, list[MessageRow], _PageMedia | None]:
        conversation = find_conversation_header(conn, conversation_id)
        if conversation is None:
            return None, [], None
        rows = list_messages_before(conn, conversation, before=before, limit=query.limit + 1)
        return conversation, rows, _page_media(conn, rows[: query.limit])

    conversation, rows, media = run_in_transaction(read, tenant_id=caller.tenant_id)
    if conversation is None:
        raise NotFound(CONVERSATION_NOT_FOUND)
    page, has_more = rows[: query.limit], len(rows) > query.limit
    return MessageList(
        conversation_id=conversation.id,
        total=conversation.message_count,
        limit=query.limit,
        messages=[message_view(row, conversation, media) for row in page],
        next_cursor=encode_cursor(fingerprint, page[-1].sent_at, page[-1].id) if has_more else None,
    )


@dataclass(frozen=True)
class _AgentPage:
    conversation: ConversationHeader | None
    rows: list[MessageRow]
    media: _PageMedia | None = None


def _read_agent_page(caller: Caller, conversation_id: int, query: AgentMessageQuery) -> _AgentPage:
    def read(conn: psycopg.Connection[Any]) -> _AgentPage:
        conversation = find_conversation_header(conn, conversation_id)
        if conversation is None:
            return _AgentPage(None, [])
        plan = plan_numbered_page(total=conversation.message_count, page=query.page, limit=query.limit)
        if plan is None:
            return _AgentPage(conversation, [])
        rows = list_messages_page(
            conn,
            conversation,
            order=_OPPOSITE_ORDER[query.order] if plan.order_reversed else query.order,
            offset=plan.offset,
            limit=plan.limit,
        )
        return _AgentPage(conversation, rows[::-1] if plan.order_reversed else rows, _page_media(conn, rows))

    # A StorageError becomes the agent contract's own 500 in threadline.http.errors.
    return run_in_transaction(read, tenant_id=caller.tenant_id)


def agent_conversation_messages(
    caller: Caller, conversation_id: int, query: AgentMessageQuery
) -> AgentMessagesResponse:
    read = _read_agent_page(caller, conversation_id, query)
    if read.conversation is None:
        raise NotFound(CONVERSATION_NOT_FOUND, details=f"No conversation exists with ID {conversation_id}")
    conversation = read.conversation
    return AgentMessagesResponse(
        data=AgentMessagePage(
            conversation_id=conversation.id,
            page=query.page,
            limit=query.limit,
            total=conversation.message_count,
            total_pages=math.ceil(conversation.message_count / query.limit),
            messages=[_agent_message(row, conversation, read.media or _PageMedia({}, None)) for row in read.rows],
        )
    )
