"""WebSocket frames into subscription actions, and the mistakes a client can make named back to it."""

from __future__ import annotations

import json

import pytest

from threadline.errors import InvalidRequest
from threadline.realtime.actions import MAX_TOPIC_ID_CHARS, TopicAction, parse_action


def _frame(**fields: object) -> str:
    return json.dumps(fields)


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (_frame(action="subscribe_conversation", conversation_id=123), TopicAction("subscribe", "conversation", "123")),
        (_frame(action="subscribe_session", session_uuid="wses_abc"), TopicAction("subscribe", "session", "wses_abc")),
        (_frame(action="unsubscribe", conversation_id=7), TopicAction("unsubscribe", "conversation", "7")),
        (_frame(action="unsubscribe", session_uuid="wses_abc"), TopicAction("unsubscribe", "session", "wses_abc")),
        # Other keys are ignored.
        (
            _frame(action="subscribe_conversation", conversation_id=2**63 - 1, requestId="r1"),
            TopicAction("subscribe", "conversation", str(2**63 - 1)),
        ),
    ],
)
def test_a_well_formed_frame_names_its_action_and_topic(frame, expected):
    assert parse_action(frame) == expected


@pytest.mark.parametrize("body", [None, "", "not json", "[]", '"subscribe_session"', "42"])
def test_a_frame_that_is_not_a_json_object_is_refused(body):
    with pytest.raises(InvalidRequest):
        parse_action(body)


@pytest.mark.parametrize("conversation_id", [0, -1, 2**63, True, "123", 1.5, None])
def test_a_conversation_id_must_be_a_positive_bigint(conversation_id):
    frame = _frame(action="subscribe_conversation", conversation_id=conversation_id)

    with pytest.raises(InvalidRequest) as refused:
        parse_action(frame)

    assert refused.value.message == "conversation_id must be a positive integer"


@pytest.mark.parametrize("session_uuid", ["", "   ", "x" * (MAX_TOPIC_ID_CHARS + 1), "wses\n1", 12, None])
def test_a_session_uuid_must_be_printable_text_of_bounded_length(session_uuid):
    with pytest.raises(InvalidRequest) as refused:
        parse_action(_frame(action="subscribe_session", session_uuid=session_uuid))

    assert refused.value.message == (
        f"session_uuid must be a session id of 1 to {MAX_TOPIC_ID_CHARS} printable characters"
    )


def test_a_session_uuid_of_the_maximum_length_is_accepted():
    longest = "s" * MAX_TOPIC_ID_CHARS
    assert parse_action(_frame(action="subscribe_session", session_uuid=longest)).topic_id == longest


@pytest.mark.parametrize(
    "frame",
    [_frame(action="unsubscribe"), _frame(action="unsubscribe", conversation_id=1, session_uuid="wses_abc")],
)
def test_unsubscribe_takes_exactly_one_topic(frame):
    with pytest.raises(InvalidRequest) as refused:
        parse_action(frame)

    assert refused.value.message == "unsubscribe takes exactly one of conversation_id and session_uuid"
