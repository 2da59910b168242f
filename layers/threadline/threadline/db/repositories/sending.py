"""The send path's SQL: finding who and where to send to, and the outbound message's lifecycle.

An outbound message is written as `pending` before Meta is called and completed afterwards, so a crash between
the two leaves a record (and Meta's status webhook, which echoes our external id, can still complete it).
Statuses only move forward (`message_status_rank`): a status webhook that raced ahead of our own update wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from threadline.db.repositories.statuses import UNCONFIRMED_SEND_TITLE
from threadline.vocabulary import Platform


@dataclass(frozen=True)
class RecipientContact:
    id: UUID
    identifier: str
    phone_digits: str | None


@dataclass(frozen=True, kw_only=True)
class ReplyWindowState:
    """A conversation's window and its rule's columns (migration 0018): the rule is the connection's, or the
    platform's when the conversation has no connection (`has_connection` false)."""

    window_expires_at: datetime | None = None
    replies_in_window: int = 0
    has_connection: bool = False
    reply_window_hours: int | None = None
    max_replies_per_window: int | None = None


@dataclass(frozen=True, kw_only=True)
class WhatsAppRoute(ReplyWindowState):
    """Where a message to a contact goes: a conversation (when one exists) and the number it is sent from."""

    conversation_id: int | None
    connection_uuid: UUID | None
    phone_number_id: str | None


@dataclass(frozen=True, kw_only=True)
class ConversationForSend(ReplyWindowState):
    id: int
    platform: Platform
    external_conversation_id: str
    contact_id: UUID
    contact_identifier: str
    contact_phone_digits: str | None
    contact_whatsapp_user_id: str | None
    connection_uuid: UUID | None
    connection_id: str | None
    connection_is_active: bool | None
    phone_number_id: str | None
    outbound_url: str | None = None


@dataclass(frozen=True)
class OutboundMessageRow:
    id: int
    conversation_id: int
    contact_id: UUID
    external_id: str
    type: str
    content: str
    media_url: str | None
    status: str
    source: str
    meta_id: str | None
    reply_to_external_id: str | None
    error_code: int | None
    error_title: str | None
    sent_at: datetime
    created_at: datetime


# ReplyWindowState's columns, from conversations v LEFT JOIN connections k.
_WINDOW_COLUMNS = """v.window_expires_at, v.replies_in_window, (k.id IS NOT NULL) AS has_connection,
    k.reply_window_hours, k.max_replies_per_window"""

_MESSAGE_COLUMNS = """m.id, m.conversation_id, c.contact_id, m.external_id, m.type, m.content, m.media_url, m.status,
    m.source, m.meta_id, m.reply_to_external_id, m.error_code, m.error_title, m.sent_at, m.created_at"""


def find_contact_for_recipient(
    conn: psycopg.Connection[Any], *, identifier: str, phone_digits: str | None
) -> RecipientContact | None:
    """The contact a recipient names, matched the way ingest matches: identifier, exact digits, last ten digits."""
    with conn.cursor(row_factory=class_row(RecipientContact)) as cursor:
        return cursor.execute(
            """
            SELECT id, identifier, phone_digits
            FROM contacts
            WHERE identifier = %(identifier)s OR phone_digits = %(digits)s OR phone_last10 = right(%(digits)s, 10)
            ORDER BY (identifier = %(identifier)s) DESC, (phone_digits IS NOT DISTINCT FROM %(digits)s) DESC,
                     last_interaction_at DESC NULLS LAST, created_at, id
            LIMIT 1
            """,
            {"identifier": identifier, "digits": phone_digits},
        ).fetchone()


def find_whatsapp_route(conn: psycopg.Connection[Any], contact_id: UUID, *, platform: str) -> WhatsAppRoute:
    """The contact's WhatsApp conversation the customer wrote to last (its window is the one most likely open, and
    the number they expect an answer from), locked for the send's count of replies; without any inbound message, the
    most recently active one; failing that, the tenant's oldest active WhatsApp connection that has a number."""
    with conn.cursor(row_factory=class_row(WhatsAppRoute)) as cursor:
        route = cursor.execute(
            f"""
            SELECT v.id AS conversation_id, k.id AS connection_uuid, k.phone_number_id, {_WINDOW_COLUMNS}
            FROM conversations v LEFT JOIN connections k ON k.id = v.connection_id
            WHERE v.contact_id = %s AND v.platform = %s
            ORDER BY v.last_inbound_at DESC NULLS LAST, v.last_message_at DESC NULLS LAST, v.id DESC
            LIMIT 1
            FOR NO KEY UPDATE OF v
            """,
            (contact_id, platform),
        ).fetchone()
        if route is not None and route.phone_number_id:
            return route
        connection = cursor.execute(
            """
            SELECT NULL::bigint AS conversation_id, id AS connection_uuid, phone_number_id
            FROM connections
            WHERE platform = %s AND is_active AND phone_number_id IS NOT NULL
            ORDER BY created_at, id
            LIMIT 1
            """,
            (platform,),
        ).fetchone()
    if route is None:
        return connection or WhatsAppRoute(conversation_id=None, connection_uuid=None, phone_number_id=None)
    # The conversation lost its connection (deleted): keep the conversation (and its window), send from the
    # tenant's number.
    return WhatsAppRoute(
        window_expires_at=route.window_expires_at,
        replies_in_window=route.replies_in_window,
        has_connection=route.has_connection,
        reply_window_hours=route.reply_window_hours,
        max_replies_per_window=route.max_replies_per_window,
        conversation_id=route.conversation_id,
        connection_uuid=connection.connection_uuid if connection else None,
        phone_number_id=connection.phone_number_id if connection else None,
    )


def ensure_whatsapp_conversation(
    conn: psycopg.Connection[Any],
    *,
    tenant_id: UUID,
    connection_uuid: UUID | None,
    platform: str,
    external_conversation_id: str,
    contact_id: UUID,
) -> int:
    row = conn.execute(
        """
        INSERT INTO conversations (tenant_id, connection_id, platform, external_conversation_id, contact_id)
        VALUES (%s, %s, %s, %s, %s)
        ON CONFLICT (tenant_id, platform, external_conversation_id) DO UPDATE SET updated_at = now()
        RETURNING id
        """,
        (tenant_id, connection_uuid, platform, external_conversation_id, contact_id),
    ).fetchone()
    assert row is not None
    return int(row[0])


def find_conversation_for_send(conn: psycopg.Connection[Any], conversation_id: int) -> ConversationForSend | None:
    """The conversation, its contact, connection and window, locked until the send's transaction ends: two replies
    sent at once are counted one after the other, so a cap on replies holds exactly."""
    with conn.cursor(row_factory=class_row(ConversationForSend)) as cursor:
        return cursor.execute(
            f"""
            SELECT v.id, v.platform, v.external_conversation_id, v.contact_id, t.identifier AS contact_identifier,
                   t.phone_digits AS contact_phone_digits,
                   COALESCE(t.whatsapp_user_id, t.whatsapp_parent_user_id) AS contact_whatsapp_user_id,
                   k.id AS connection_uuid, k.connection_id,
                   k.is_active AS connection_is_active, k.phone_number_id, k.outbound_url, {_WINDOW_COLUMNS}
            FROM conversations v
            JOIN contacts t ON t.id = v.contact_id
            LEFT JOIN connections k ON k.id = v.connection_id
            WHERE v.id = %s
            FOR NO KEY UPDATE OF v
            """,
            (conversation_id,),
        ).fetchone()


def conversation_exists(conn: psycopg.Connection[Any], conversation_id: int) -> bool:
    """Whether the id exists in any tenant (a SECURITY DEFINER function: RLS hides other tenants' rows)."""
    row = conn.execute("SELECT conversation_exists(%s)", (conversation_id,)).fetchone()
    return bool(row and row[0])


def find_reply_target(conn: psycopg.Connection[Any], conversation_id: int, message_id: int) -> str | None:
    """The WhatsApp id of a message in this conversation, to quote it in a reply."""
    row = conn.execute(
        "SELECT COALESCE(meta_id, external_id) FROM messages WHERE conversation_id = %s AND id = %s",
        (conversation_id, message_id),
    ).fetchone()
    return str(row[0]) if row else None


@dataclass(frozen=True)
class PendingMessage:
    tenant_id: UUID
    conversation_id: int
    external_id: str
    type: str
    content: str
    media_url: str | None
    media_filename: str | None
    reply_to_external_id: str | None
    author_user_id: UUID | None
    payload: dict[str, Any] | None
    source: str


def insert_pending_message(conn: psycopg.Connection[Any], message: PendingMessage) -> OutboundMessageRow:
    """Record the message before Meta sees it, and show it as the conversation's latest activity."""
    with conn.cursor(row_factory=class_row(OutboundMessageRow)) as cursor:
        row = cursor.execute(
            f"""
            WITH inserted AS (
                INSERT INTO messages (tenant_id, conversation_id, external_id, direction, type, content, media_url,
                                      media_filename, reply_to_external_id, sent_at, status, source, author_user_id,
                                      payload)
                VALUES (%(tenant_id)s, %(conversation_id)s, %(external_id)s, 'outbound', %(type)s, %(content)s,
                        %(media_url)s, %(media_filename)s, %(reply_to_external_id)s, now(), 'pending', %(source)s,
                        (SELECT id FROM users WHERE id = %(author_user_id)s), %(payload)s)
                RETURNING *
            ),
            touched AS (
                -- A reply takes its place in the window's count of replies (a rule with a cap checks it).
                UPDATE conversations
                SET last_message_at = GREATEST(last_message_at, now()),
                    last_message_preview = left(%(content)s, 100), updated_at = now(),
                    replies_in_window = replies_in_window + 1
                WHERE id = %(conversation_id)s
                RETURNING contact_id
            )
            SELECT {_MESSAGE_COLUMNS} FROM inserted m CROSS JOIN touched c
            """,
            vars(message) | {"payload": Jsonb(message.payload) if message.payload is not None else None},
        ).fetchone()
    assert row is not None
    return row


def _update_message(
    conn: psycopg.Connection[Any], message_id: int, assignments: str, params: dict[str, Any]
) -> OutboundMessageRow:
    with conn.cursor(row_factory=class_row(OutboundMessageRow)) as cursor:
        row = cursor.execute(
            f"""
            WITH updated AS (UPDATE messages SET {assignments} WHERE id = %(message_id)s RETURNING *)
            SELECT {_MESSAGE_COLUMNS} FROM updated m JOIN conversations c ON c.id = m.conversation_id
            """,
            params | {"message_id": message_id},
        ).fetchone()
    assert row is not None
    return row


def find_outbound_message(conn: psycopg.Connection[Any], message_id: int) -> OutboundMessageRow | None:
    with conn.cursor(row_factory=class_row(OutboundMessageRow)) as cursor:
        return cursor.execute(
            f"SELECT {_MESSAGE_COLUMNS} FROM messages m JOIN conversations c ON c.id = m.conversation_id"
            " WHERE m.id = %s AND m.direction = 'outbound'",
            (message_id,),
        ).fetchone()


def mark_message_sent(conn: psycopg.Connection[Any], message_id: int, wamid: str) -> OutboundMessageRow:
    # A status webhook may have completed the row first (delivered, read): never move it backwards.
    return _update_message(
        conn,
        message_id,
        """meta_id = COALESCE(meta_id, %(wamid)s),
           status = CASE WHEN message_status_rank(status) < message_status_rank('sent') THEN 'sent' ELSE status END,
           status_updated_at = CASE WHEN message_status_rank(status) < message_status_rank('sent')
                                    THEN now() ELSE status_updated_at END""",
        {"wamid": wamid},
    )


def mark_message_failed(
    conn: psycopg.Connection[Any], message_id: int, *, code: int | None, title: str, details: str | None
) -> OutboundMessageRow:
    return _update_message(
        conn,
        message_id,
        """status = 'failed', status_updated_at = now(),
           error_code = %(code)s, error_title = %(title)s, error_details = %(details)s""",
        {"code": code, "title": title, "details": details},
    )


def note_message_outcome_unknown(conn: psycopg.Connection[Any], message_id: int, *, title: str) -> OutboundMessageRow:
    # Still pending: Meta may have accepted it, and its status webhook (carrying our external id) will tell.
    return _update_message(conn, message_id, "error_title = %(title)s", {"title": title})


@dataclass(frozen=True)
class UnconfirmedSend:
    tenant_id: UUID
    message_id: int


def fail_unconfirmed_sends(
    conn: psycopg.Connection[Any], *, pending_before: datetime, details: str, limit: int, platforms: list[str]
) -> list[UnconfirmedSend]:
    """Fail (all tenants) up to `limit` outbound messages of `platforms`' conversations still pending since before
    `pending_before`."""
    with conn.cursor(row_factory=class_row(UnconfirmedSend)) as cursor:
        return cursor.execute(
            "SELECT tenant_id, message_id FROM fail_unconfirmed_sends(%s, %s, %s, %s, %s)",
            (pending_before, UNCONFIRMED_SEND_TITLE, details, limit, platforms),
        ).fetchall()


def expire_conversation_window(conn: psycopg.Connection[Any], conversation_id: int) -> datetime | None:
    """The channel says this conversation's window is closed (Meta's 131047), whatever our clock says: believe it.
    Returns the closing time now recorded (None: the rule has no window, so there is none to close)."""
    row = conn.execute(
        """
        UPDATE conversations
        SET window_expires_at = LEAST(window_expires_at, now()), updated_at = now()
        WHERE id = %s AND window_expires_at IS NOT NULL
        RETURNING window_expires_at
        """,
        (conversation_id,),
    ).fetchone()
    return row[0] if row else None


def give_back_reply(conn: psycopg.Connection[Any], message_id: int) -> None:
    """A reply the channel certainly did not send leaves the window's count of replies, unless a newer inbound
    message has opened another window (which started counting afresh)."""
    conn.execute(
        """
        UPDATE conversations v
        SET replies_in_window = v.replies_in_window - 1
        FROM messages m
        WHERE m.id = %s AND v.id = m.conversation_id AND v.replies_in_window > 0
          AND (v.last_inbound_at IS NULL OR v.last_inbound_at <= m.sent_at)
        """,
        (message_id,),
    )
