"""Pydantic's validation errors become one short sentence naming the field and what to fix, the same words on
every route."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from threadline.errors import InvalidRequest
from threadline.models.validation import (
    INVALID_JSON_MESSAGE,
    NOT_AN_OBJECT_MESSAGE,
    NulFreeText,
    describe_validation_error,
    error_location,
    json_object,
    parse_json_body,
)


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    direction: Literal["inbound", "outbound"]
    sent_at: datetime
    content: NulFreeText = Field(default="", max_length=5)
    urgent: bool = False


class Conversation(BaseModel):
    external_conversation_id: str
    messages: list[Message] = Field(min_length=1, max_length=2)


class Batch(BaseModel):
    platform: str
    conversations: list[Conversation]


VALID_MESSAGE = {"id": "m1", "direction": "inbound", "sent_at": "2026-02-01T10:30:00Z"}


def _explained(model: type[BaseModel], value: object) -> str:
    with pytest.raises(ValidationError) as error:
        model.model_validate(value)
    return describe_validation_error(error.value)


def test_a_location_reads_as_a_path_with_indexes():
    assert error_location(["conversations", 0, "messages", 2, "sent_at"]) == "conversations[0].messages[2].sent_at"
    assert error_location([]) == ""
    assert error_location(["platform"]) == "platform"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"id": None}, "id: must be a string"),
        ({"id": ""}, "id: must not be empty"),
        ({"direction": "sideways"}, "direction: must be one of 'inbound' or 'outbound'"),
        ({"sent_at": "yesterday"}, "sent_at: must be an ISO 8601 timestamp"),
        ({"content": "too long"}, "content: must be at most 5 characters"),
        ({"content": "a\x00b"}, "content: must not contain NUL characters"),
        ({"urgent": "perhaps"}, "urgent: must be a boolean"),
        ({"colour": "red"}, "colour: is not a known field"),
    ],
)
def test_each_kind_of_field_error_has_its_sentence(change, expected):
    assert _explained(Message, VALID_MESSAGE | change) == expected


def test_a_missing_field_is_required():
    assert _explained(Message, {"direction": "inbound", "sent_at": "2026-02-01T10:30:00Z"}) == "id: is required"


def test_nested_errors_name_their_full_path():
    body = {"platform": "whatsapp", "conversations": [{"external_conversation_id": "c", "messages": "none"}]}
    assert _explained(Batch, body) == "conversations[0].messages: must be an array"
    body["conversations"] = [{"external_conversation_id": "c", "messages": [VALID_MESSAGE] * 3}]
    assert _explained(Batch, body) == "conversations[0].messages: must have at most 2 items"
    body["conversations"] = [{"external_conversation_id": "c", "messages": []}]
    assert _explained(Batch, body) == "conversations[0].messages: must have at least 1 items"
    assert _explained(Batch, {"platform": "x", "conversations": ["c"]}) == "conversations[0]: must be an object"


def test_at_most_three_errors_are_reported_in_one_sentence():
    sentence = _explained(Message, {"colour": 1, "shade": 2})
    assert sentence == "id: is required; direction: is required; sent_at: is required"


def test_json_object_refuses_what_is_not_a_json_object():
    assert json_object('{"a": 1}') == {"a": 1}
    with pytest.raises(InvalidRequest) as not_json:
        json_object(b"\xff")
    assert not_json.value.message == INVALID_JSON_MESSAGE
    with pytest.raises(InvalidRequest) as not_object:
        json_object("[1]")
    assert not_object.value.message == NOT_AN_OBJECT_MESSAGE


def _parse(body: str | None) -> Batch:
    return parse_json_body(
        Batch,
        body,
        max_bytes=200,
        empty_message="Request body is required",
        too_large_message="Request body is too large",
        missing_fields_message="Missing required fields: platform, conversations",
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (None, "Request body is required"),
        ("  \n", "Request body is required"),
        ("x" * 201, "Request body is too large"),
        ("{", INVALID_JSON_MESSAGE),
        ("[]", NOT_AN_OBJECT_MESSAGE),
        ('{"platform": "whatsapp"}', "Missing required fields: platform, conversations"),
        ('{"platform": 1, "conversations": []}', "platform: must be a string"),
    ],
)
def test_a_body_is_refused_in_the_contracts_words(body, expected):
    with pytest.raises(InvalidRequest) as refused:
        _parse(body)

    assert refused.value.message == expected


def test_a_valid_body_becomes_the_model():
    assert _parse('{"platform": "whatsapp", "conversations": []}') == Batch(platform="whatsapp", conversations=[])
