"""Opaque cursors for keyset pagination, and the page arithmetic of numbered pages.

A cursor is the sort key of the last row a client saw, plus a fingerprint of the list it came from (its filters,
or its conversation), base64url-encoded. It is not secret: RLS decides what a query may see, and a hand-made
cursor can only move within the caller's own rows. It is checked: a cursor from another list, or one that does
not decode, is refused with a 400 instead of silently paging something else.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from threadline.models.ids import MAX_ID

_VERSION = 1
# A cursor of several sort keys (a list ordered by priority then activity, search results by rank then id).
_KEYSET_VERSION = 2

KeyPart = str | int | float | None


class InvalidCursor(ValueError):
    pass


def list_fingerprint(*parts: object) -> str:
    """Short and stable: which list (and which filters) a cursor belongs to."""
    return hashlib.sha256(json.dumps([str(part) for part in parts]).encode()).hexdigest()[:16]


def encode_cursor(fingerprint: str, at: datetime | None, row_id: int) -> str:
    document = [_VERSION, fingerprint, at.isoformat() if at else None, row_id]
    return base64.urlsafe_b64encode(json.dumps(document, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(token: str, fingerprint: str) -> tuple[datetime | None, int]:
    try:
        document = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        version, cursor_fingerprint, at, row_id = document
        if version != _VERSION or type(row_id) is not int or not 1 <= row_id <= MAX_ID:
            raise InvalidCursor("not a cursor")
        position_at = datetime.fromisoformat(at) if at is not None else None
    except (binascii.Error, UnicodeDecodeError, TypeError, ValueError) as error:
        raise InvalidCursor("not a cursor") from error
    if position_at is not None and position_at.tzinfo is None:
        raise InvalidCursor("not a cursor")
    if cursor_fingerprint != fingerprint:
        raise InvalidCursor("belongs to another list")
    return position_at, row_id


def encode_keyset_cursor(fingerprint: str, key: Sequence[KeyPart]) -> str:
    """A cursor of a sort key of several parts (JSON scalars: the caller writes timestamps as ISO 8601)."""
    document = [_KEYSET_VERSION, fingerprint, list(key)]
    return base64.urlsafe_b64encode(json.dumps(document, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_keyset_cursor(token: str, fingerprint: str, parts: int) -> list[KeyPart]:
    """The sort key of `parts` parts; the caller checks each part's type (InvalidCursor when it does not fit)."""
    try:
        document = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        version, cursor_fingerprint, key = document
    except (binascii.Error, UnicodeDecodeError, TypeError, ValueError) as error:
        raise InvalidCursor("not a cursor") from error
    if version != _KEYSET_VERSION or not isinstance(key, list) or len(key) != parts:
        raise InvalidCursor("not a cursor")
    if not all(part is None or type(part) in (str, int, float) for part in key):
        raise InvalidCursor("not a cursor")
    if cursor_fingerprint != fingerprint:
        raise InvalidCursor("belongs to another list")
    return key


def timestamp_key(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def timestamp_from_key(part: KeyPart) -> datetime | None:
    """A timestamp part of a keyset cursor (always with its offset), or None."""
    if part is None:
        return None
    if not isinstance(part, str):
        raise InvalidCursor("not a cursor")
    try:
        value = datetime.fromisoformat(part)
    except ValueError as error:
        raise InvalidCursor("not a cursor") from error
    if value.tzinfo is None:
        raise InvalidCursor("not a cursor")
    return value


def id_from_key(part: KeyPart) -> int:
    if type(part) is not int or not 1 <= part <= MAX_ID:
        raise InvalidCursor("not a cursor")
    return part


@dataclass(frozen=True)
class NumberedPageRead:
    """How to read page `page` of `total` rows: possibly from the far end, so the last pages cost what the first
    ones do (the skipped rows are never more than half of the total)."""

    order_reversed: bool
    offset: int
    limit: int


def plan_numbered_page(*, total: int, page: int, limit: int) -> NumberedPageRead | None:
    """None when the page lies past the last row."""
    offset = (page - 1) * limit
    if offset >= total:
        return None
    limit = min(limit, total - offset)
    rows_beyond = total - offset - limit
    if rows_beyond < offset:
        return NumberedPageRead(order_reversed=True, offset=rows_beyond, limit=limit)
    return NumberedPageRead(order_reversed=False, offset=offset, limit=limit)
