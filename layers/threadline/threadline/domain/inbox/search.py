"""Search: messages by their words, contacts by name, username or phone, and the conversations they belong to.

Words: the query's words (taken as a message's words are indexed: accents folded, then split by the 'simple'
parser), each matched as a word or as its prefix, all of them required, case and accents folded on both sides (`cafe` finds "Café", `ref` finds "refund"). Private notes are
found too, marked `private`: everyone who can search is an agent, and notes are agents' words; system (activity)
messages are not. Contacts: any part of the name, the username or the phone number's digits, however the query
spells them (`555-12` finds +1 555 1234), ranked by word similarity.
Ranking and its bound: threadline.db.repositories.search.
"""

from __future__ import annotations

import re
from typing import Any

import psycopg

from threadline.caller import Caller
from threadline.db.repositories.search import (
    ContactHitRow,
    MessageHitRow,
    search_contacts,
    search_conversations,
    search_messages,
)
from threadline.db.tenancy import run_in_transaction
from threadline.domain.pagination import (
    InvalidCursor,
    KeyPart,
    decode_keyset_cursor,
    encode_keyset_cursor,
    id_from_key,
    list_fingerprint,
)
from threadline.errors import InvalidRequest
from threadline.models.ids import parse_uuid
from threadline.models.search import (
    ContactHit,
    MessageHit,
    SearchConversation,
    SearchQuery,
    SearchResult,
    SearchResults,
)

# A word: letters and digits of any script (what the 'simple' parser keeps as a word, near enough).
_WORD = re.compile(r"[^\W_]+")


def has_words(text: str) -> bool:
    """Whether `text` has a word to look for (not only punctuation). The words themselves are taken by the
    database, as it takes a message's (threadline.db.repositories.search): Python's letters and digits include
    characters (½, ⑴, the Hawaiian okina) that unaccent turns into punctuation, so they cannot be split out here."""
    return _WORD.search(text) is not None


def search(caller: Caller, query: SearchQuery) -> SearchResults:
    fingerprint = list_fingerprint("search", query.type, query.q)
    after = _after(query, fingerprint)

    def read(conn: psycopg.Connection[Any]) -> list[SearchResult]:
        if query.type == "contacts":
            digits = "".join(ch for ch in query.q if ch.isdigit() and ch.isascii())
            contact_after = (after[0], str(after[1])) if after else None
            rows = search_contacts(
                conn,
                tenant_id=caller.tenant_id,
                text=query.q,
                digits=digits,
                after=contact_after,
                limit=query.limit + 1,
            )
            return [_contact_result(row) for row in rows]
        if not has_words(query.q):
            return []
        find = search_conversations if query.type == "conversations" else search_messages
        message_after = (after[0], id_from_key(after[1])) if after else None
        hits = find(conn, tenant_id=caller.tenant_id, words=query.q, after=message_after, limit=query.limit + 1)
        kind = "conversation" if query.type == "conversations" else "message"
        return [_message_result(row, kind) for row in hits]

    results = run_in_transaction(read, tenant_id=caller.tenant_id)
    page, has_more = results[: query.limit], len(results) > query.limit
    next_cursor = None
    if has_more and page:
        next_cursor = encode_keyset_cursor(fingerprint, [page[-1].rank, _result_id(page[-1])])
    return SearchResults(q=query.q, type=query.type, results=page, next_cursor=next_cursor)


def _after(query: SearchQuery, fingerprint: str) -> tuple[float, KeyPart] | None:
    if query.cursor is None:
        return None
    try:
        rank, row_id = decode_keyset_cursor(query.cursor, fingerprint, 2)
        if type(rank) not in (int, float) or row_id is None:
            raise InvalidCursor("not a cursor")
        if query.type == "contacts":
            # A contact's id, which the SQL casts to uuid: anything else was a 500 (cursors are not signed).
            contact_id = parse_uuid(row_id) if isinstance(row_id, str) else None
            if contact_id is None:
                raise InvalidCursor("not a cursor")
            row_id = str(contact_id)
        else:
            id_from_key(row_id)
    except InvalidCursor as error:
        raise InvalidRequest(f"cursor is not valid for this search ({error}); start again without it") from None
    assert isinstance(rank, int | float)
    return float(rank), row_id


def _result_id(result: SearchResult) -> KeyPart:
    if result.kind == "contact":
        assert result.contact is not None
        return str(result.contact.id)
    if result.kind == "conversation":
        assert result.conversation is not None
        return result.conversation.id
    assert result.message is not None
    return result.message.id


def _message_result(row: MessageHitRow, kind: str) -> SearchResult:
    return SearchResult(
        kind="conversation" if kind == "conversation" else "message",
        rank=row.rank,
        message=MessageHit(
            id=row.id,
            content=row.content,
            direction="inbound" if row.direction == "inbound" else "outbound",
            private=row.is_private,
            sent_at=row.sent_at,
        ),
        contact=None,
        conversation=SearchConversation(
            id=row.conversation_id,
            platform=row.platform,
            contact_name=row.contact_name,
            last_message_at=row.last_message_at,
        ),
    )


def _contact_result(row: ContactHitRow) -> SearchResult:
    conversation = None
    if row.conversation_id is not None and row.platform is not None:
        conversation = SearchConversation(
            id=row.conversation_id, platform=row.platform, contact_name=row.name, last_message_at=row.last_message_at
        )
    return SearchResult(
        kind="contact",
        rank=row.rank,
        message=None,
        contact=ContactHit(id=row.id, name=row.name, identifier=row.identifier),
        conversation=conversation,
    )
