"""Cursors round-trip, belong to one list, and refuse anything else; numbered pages read from the nearer end."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from threadline.domain.pagination import (
    InvalidCursor,
    NumberedPageRead,
    decode_cursor,
    encode_cursor,
    list_fingerprint,
    plan_numbered_page,
)
from threadline.models.ids import MAX_ID

AT = datetime(2026, 2, 1, 10, 30, 0, 123456, tzinfo=UTC)


def _token(document: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")


def test_a_cursor_decodes_to_the_position_it_encodes():
    fingerprint = list_fingerprint("conversation", 42)
    token = encode_cursor(fingerprint, AT, 9001)

    assert "=" not in token and "+" not in token and "/" not in token  # safe in a query string as it is
    assert decode_cursor(token, fingerprint) == (AT, 9001)


def test_a_cursor_keeps_its_offset_and_may_have_no_timestamp():
    fingerprint = list_fingerprint("list")
    offset_time = datetime(2026, 2, 1, 12, 0, tzinfo=timezone(timedelta(hours=-3)))

    assert decode_cursor(encode_cursor(fingerprint, offset_time, 1), fingerprint) == (offset_time, 1)
    assert decode_cursor(encode_cursor(fingerprint, None, MAX_ID), fingerprint) == (None, MAX_ID)


def test_the_fingerprint_tells_lists_and_filters_apart():
    assert list_fingerprint("conversation", 1) == list_fingerprint("conversation", 1)
    assert list_fingerprint("conversation", 1) != list_fingerprint("conversation", 2)
    assert list_fingerprint("status", "open", None) != list_fingerprint("status", None, "open")


def test_a_cursor_from_another_list_is_refused():
    token = encode_cursor(list_fingerprint("conversation", 1), AT, 5)

    with pytest.raises(InvalidCursor, match="belongs to another list"):
        decode_cursor(token, list_fingerprint("conversation", 2))


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not base64 at all!",
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),  # not UTF-8
        _token({"version": 1}),  # not the four-part list
        _token([2, "f", AT.isoformat(), 5]),  # another version
        _token([1, "f", AT.isoformat(), 0]),  # ids start at 1
        _token([1, "f", AT.isoformat(), MAX_ID + 1]),  # beyond bigint
        _token([1, "f", AT.isoformat(), True]),  # a boolean is not an id
        _token([1, "f", AT.isoformat(), "5"]),  # nor is a string
        _token([1, "f", "yesterday", 5]),  # not a timestamp
        _token([1, "f", "2026-02-01T10:30:00", 5]),  # a timestamp without its offset
    ],
)
def test_what_is_not_a_cursor_is_refused(token):
    with pytest.raises(InvalidCursor, match="not a cursor"):
        decode_cursor(token, "f")


@pytest.mark.parametrize(
    ("total", "page", "limit", "expected"),
    [
        (100, 1, 10, NumberedPageRead(order_reversed=False, offset=0, limit=10)),
        (100, 5, 10, NumberedPageRead(order_reversed=False, offset=40, limit=10)),
        # Past the middle the page is read from the far end: never more skipped rows than half the total.
        (100, 6, 10, NumberedPageRead(order_reversed=True, offset=40, limit=10)),
        (100, 10, 10, NumberedPageRead(order_reversed=True, offset=0, limit=10)),
        # A short last page asks only for the rows that exist.
        (95, 10, 10, NumberedPageRead(order_reversed=True, offset=0, limit=5)),
        (1, 1, 50, NumberedPageRead(order_reversed=False, offset=0, limit=1)),
    ],
)
def test_a_numbered_page_is_read_from_the_nearer_end(total, page, limit, expected):
    assert plan_numbered_page(total=total, page=page, limit=limit) == expected


@pytest.mark.parametrize(("total", "page"), [(100, 11), (0, 1), (10, 2)])
def test_a_page_past_the_last_row_reads_nothing(total, page):
    assert plan_numbered_page(total=total, page=page, limit=10) is None
