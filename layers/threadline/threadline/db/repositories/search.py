"""Search queries (migration 0014's indexes): messages by their words, contacts by name, username or phone digits.

Each search ranks a bounded set of candidates, so its cost does not grow with how common the words are:
- messages: the newest MESSAGE_CANDIDATES matches (by id, i.e. by arrival), ranked by ts_rank_cd; found through the
  newest 4,000 messages first, then through the GIN index when the words are rare, or by walking further back
  from the newest message when they are common (search_message_candidates, migrations 0014 and 0021, says how
  and why);
- contacts: at most CONTACT_CANDIDATES matches of the trigram index, ranked by word similarity.
A cursor page re-ranks the same candidates and continues after (rank, id); messages arriving meanwhile can move
the window of candidates (a search is a snapshot, not a feed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row

from threadline.vocabulary import Platform

MESSAGE_CANDIDATES = 200
CONTACT_CANDIDATES = 2_000


@dataclass(frozen=True)
class MessageHitRow:
    rank: float
    id: int
    content: str
    direction: str
    is_private: bool
    sent_at: datetime
    conversation_id: int
    platform: Platform
    contact_name: str | None
    last_message_at: datetime | None


@dataclass(frozen=True)
class ContactHitRow:
    rank: float
    id: UUID
    name: str | None
    identifier: str
    conversation_id: int | None
    platform: Platform | None
    last_message_at: datetime | None


# The newest matching messages of the tenant's inbox (system messages are not in the index; workspace sessions
# are not the inbox's).
# The candidates come from search_message_candidates (0014): the one door that lets the GIN index serve the
# tenant's words (under RLS it could not); it takes the query once, as a value.
# The query's words are taken exactly as a message's are (threadline_search_document: accents folded first, then
# the 'simple' parser), each required and each also as a prefix, and quoted: nothing of the text, nor what
# unaccent makes of it (½ becomes " 1/2", ⑴ "(1)", the Hawaiian okina an apostrophe), is ever tsquery syntax. A
# text without a word gives a NULL query, which matches nothing.
_MESSAGE_CANDIDATES = r"""
    WITH words AS (
        SELECT string_agg('''' || replace(replace(lexeme, '\', '\\'), '''', '''''') || ''':*', ' & ')::tsquery AS query
        FROM unnest(threadline_search_document(%(words)s))
    ),
    candidates AS (
        SELECT * FROM search_message_candidates((SELECT query FROM words), %(candidates)s)
    )
"""


def search_messages(
    conn: psycopg.Connection[Any],
    *,
    tenant_id: UUID,
    words: str,
    after: tuple[float, int] | None,
    limit: int,
) -> list[MessageHitRow]:
    query = (
        _MESSAGE_CANDIDATES
        + """
        SELECT c.rank, c.id, c.content, c.direction, c.is_private, c.sent_at, c.conversation_id,
               v.platform, k.name AS contact_name, v.last_message_at
        FROM candidates c
        JOIN conversations v ON v.id = c.conversation_id
        LEFT JOIN contacts k ON k.id = v.contact_id
        WHERE %(after_rank)s::float8 IS NULL OR (c.rank, c.id) < (%(after_rank)s, %(after_id)s)
        ORDER BY c.rank DESC, c.id DESC
        LIMIT %(limit)s
    """
    )
    params = _params(tenant_id, words, after, limit) | {"candidates": MESSAGE_CANDIDATES}
    with conn.cursor(row_factory=class_row(MessageHitRow)) as cursor:
        return cursor.execute(query, params).fetchall()


def search_conversations(
    conn: psycopg.Connection[Any],
    *,
    tenant_id: UUID,
    words: str,
    after: tuple[float, int] | None,
    limit: int,
) -> list[MessageHitRow]:
    """The conversations among the message candidates, each with its best message (rank, then the newest)."""
    query = (
        _MESSAGE_CANDIDATES
        + """,
    best AS (
        SELECT DISTINCT ON (conversation_id) *
        FROM candidates
        ORDER BY conversation_id, rank DESC, id DESC
    )
        SELECT b.rank, b.id, b.content, b.direction, b.is_private, b.sent_at, b.conversation_id,
               v.platform, k.name AS contact_name, v.last_message_at
        FROM best b
        JOIN conversations v ON v.id = b.conversation_id
        LEFT JOIN contacts k ON k.id = v.contact_id
        WHERE %(after_rank)s::float8 IS NULL OR (b.rank, b.conversation_id) < (%(after_rank)s, %(after_id)s)
        ORDER BY b.rank DESC, b.conversation_id DESC
        LIMIT %(limit)s
    """
    )
    params = _params(tenant_id, words, after, limit) | {"candidates": MESSAGE_CANDIDATES}
    with conn.cursor(row_factory=class_row(MessageHitRow)) as cursor:
        return cursor.execute(query, params).fetchall()


def search_contacts(
    conn: psycopg.Connection[Any],
    *,
    tenant_id: UUID,
    text: str,
    digits: str,
    after: tuple[float, str] | None,
    limit: int,
) -> list[ContactHitRow]:
    """Contacts whose name, username or phone contains `text` (or `digits`, the digits of a phone query), ranked by
    word similarity; each with its most recent inbox conversation."""
    query = """
        WITH candidates AS (
            SELECT * FROM search_contact_candidates(%(text)s, %(digits)s, %(candidates)s)
        )
        SELECT c.rank, c.id, c.name, c.identifier, v.id AS conversation_id, v.platform, v.last_message_at
        FROM candidates c
        LEFT JOIN LATERAL (
            SELECT id, platform, last_message_at FROM conversations
            WHERE tenant_id = %(tenant_id)s AND contact_id = c.id AND platform <> 'workspace'
            ORDER BY last_message_at DESC NULLS LAST, id DESC
            LIMIT 1
        ) v ON true
        WHERE %(after_rank)s::float8 IS NULL OR (c.rank, c.id) < (%(after_rank)s, %(after_id)s::uuid)
        ORDER BY c.rank DESC, c.id DESC
        LIMIT %(limit)s
    """
    params = _params(tenant_id, None, after, limit) | {
        "text": text,
        "digits": digits,
        "candidates": CONTACT_CANDIDATES,
    }
    with conn.cursor(row_factory=class_row(ContactHitRow)) as cursor:
        return cursor.execute(query, params).fetchall()


def _params(tenant_id: UUID, words: str | None, after: tuple[float, Any] | None, limit: int) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "words": words,
        "after_rank": after[0] if after else None,
        "after_id": after[1] if after else None,
        "limit": limit,
    }
