"""One id parser for every route: plain ASCII digits naming a bigint, and uuids in any spelling."""

from __future__ import annotations

import uuid

import pytest

from threadline.errors import InvalidRequest
from threadline.models.ids import MAX_ID, is_plain_id, parse_id, parse_uuid


@pytest.mark.parametrize("raw", ["1", "42", str(MAX_ID)])
def test_plain_digits_within_a_bigint_are_ids(raw):
    assert parse_id(raw, explanation="bad id", refuse=InvalidRequest) == int(raw)


@pytest.mark.parametrize(
    "raw", ["", "0", "-1", "+1", " 1", "1 ", "1e3", "1.0", "²", "٣", "\uff11", str(MAX_ID + 1), "9" * 5000]
)
def test_anything_else_is_refused_with_the_route_s_explanation(raw):
    assert not is_plain_id(raw)
    with pytest.raises(InvalidRequest) as refused:
        parse_id(raw, explanation="conversation id must be a positive integer", refuse=InvalidRequest)
    assert refused.value.message == "conversation id must be a positive integer"


def test_uuids_parse_in_any_spelling_and_anything_else_is_none():
    value = uuid.uuid4()
    assert parse_uuid(str(value)) == value
    assert parse_uuid(str(value).upper()) == value
    assert parse_uuid(value.hex) == value
    for not_a_uuid in (None, "", "wses_abc", "123", 17):
        assert parse_uuid(not_a_uuid) is None
