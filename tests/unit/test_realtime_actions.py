"""Client frames in both spellings: Threadline's `action` frames and the workspace session API's `type` frames."""

from __future__ import annotations

import json

import pytest

from threadline.errors import InvalidRequest
from threadline.realtime.actions import MAX_TOPIC_ID_CHARS, TopicAction, parse_action


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        ({"action": "subscribe_session", "session_uuid": "wses_abc"}, ("subscribe", "session", "wses_abc")),
        ({"action": "subscribe_conversation", "conversation_id": 123}, ("subscribe", "conversation", "123")),
        ({"action": "unsubscribe", "conversation_id": 123}, ("unsubscribe", "conversation", "123")),
        ({"action": "unsubscribe", "session_uuid": "wses_abc"}, ("unsubscribe", "session", "wses_abc")),
        ({"type": "subscribe_session", "sessionId": "wses_abc"}, ("subscribe", "session", "wses_abc")),
        ({"type": "subscribe_conversation", "conversationId": 123}, ("subscribe", "conversation", "123")),
        ({"type": "unsubscribe_session", "sessionId": "wses_abc"}, ("unsubscribe", "session", "wses_abc")),
        ({"type": "unsubscribe_conversation", "conversationId": 7}, ("unsubscribe", "conversation", "7")),
        ({"type": "unsubscribe", "sessionId": "wses_abc"}, ("unsubscribe", "session", "wses_abc")),
        ({"action": "unsubscribe_session", "session_uuid": "wses_abc"}, ("unsubscribe", "session", "wses_abc")),
        ({"action": "subscribe_inbox"}, ("subscribe", "inbox", "tenant")),
        ({"type": "subscribe_inbox"}, ("subscribe", "inbox", "tenant")),
        ({"action": "unsubscribe_inbox"}, ("unsubscribe", "inbox", "tenant")),
        ({"type": "unsubscribe_inbox", "conversationId": 5}, ("unsubscribe", "inbox", "tenant")),
    ],
)
def test_both_spellings_name_the_same_subscriptions(frame, expected):
    parsed = parse_action(json.dumps(frame))

    assert (parsed.action, parsed.topic, parsed.topic_id) == expected
    assert parsed.name == frame.get("action", frame.get("type"))


def test_action_wins_over_type_as_api_gateway_routes_by_action():
    parsed = parse_action(json.dumps({"action": "subscribe_conversation", "conversation_id": 5, "type": "x"}))

    assert parsed == TopicAction("subscribe", "conversation", "5", "subscribe_conversation")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("plain text", 'Frames must be JSON objects with an "action" (or a "type")'),
        ("[1]", 'Frames must be JSON objects with an "action" (or a "type")'),
        ("[" * 100_000, "Request body must not nest arrays and objects more than 200 levels deep"),
        ('{"type": "subscribe_everything"}', "Unknown type 'subscribe_everything': use subscribe_session,"),
        ('{"action": "subscribed"}', "Unknown action 'subscribed': use subscribe_session,"),
        ('{"type": "subscribe_session", "session_uuid": "wses_abc"}', "sessionId must be a session id of 1 to 200"),
        ('{"type": "subscribe_conversation", "conversationId": "123"}', "conversationId must be a positive integer"),
        ('{"action": "subscribe_conversation", "conversation_id": true}', "conversation_id must be a positive integer"),
        ('{"type": "unsubscribe"}', "unsubscribe takes exactly one of conversationId and sessionId"),
        ('{"action": "unsubscribe", "conversation_id": 1, "session_uuid": "s"}', "unsubscribe takes exactly one of"),
    ],
)
def test_a_frame_that_names_nothing_we_know_is_refused_with_what_to_fix(body, message):
    with pytest.raises(InvalidRequest) as refused:
        parse_action(body)

    assert refused.value.message.startswith(message)


def test_a_type_frame_names_no_route_and_reaches_default_which_answers_it():
    from devtools.template import load_template

    api = load_template().websocket
    assert api is not None

    route = api.select_route(json.dumps({"type": "subscribe_session", "sessionId": "wses_abc"}))

    assert route is not None and route.route_key == "$default"
    assert route.function == api.routes["subscribe_session"].function and route.responds


@pytest.mark.parametrize("conversation_id", [0, -1, 2**63, 1.5, None])
def test_a_conversation_id_must_be_a_positive_bigint(conversation_id):
    with pytest.raises(InvalidRequest) as refused:
        parse_action(json.dumps({"action": "subscribe_conversation", "conversation_id": conversation_id}))

    assert refused.value.message == "conversation_id must be a positive integer"


def test_the_largest_bigint_is_a_conversation_id():
    parsed = parse_action(json.dumps({"type": "subscribe_conversation", "conversationId": 2**63 - 1}))

    assert parsed.topic_id == str(2**63 - 1)


@pytest.mark.parametrize("session_ref", ["", "   ", "x" * (MAX_TOPIC_ID_CHARS + 1), "wses\n1", 12, None])
def test_a_session_reference_must_be_printable_text_of_bounded_length(session_ref):
    with pytest.raises(InvalidRequest) as refused:
        parse_action(json.dumps({"type": "subscribe_session", "sessionId": session_ref}))

    assert refused.value.message == f"sessionId must be a session id of 1 to {MAX_TOPIC_ID_CHARS} printable characters"


def test_a_session_reference_of_the_maximum_length_is_accepted():
    longest = "s" * MAX_TOPIC_ID_CHARS

    assert parse_action(json.dumps({"action": "subscribe_session", "session_uuid": longest})).topic_id == longest
