"""The frames on the wire, byte for byte: the models (threadline.models.frames) and their builders
(threadline.realtime.frames) write exactly the JSON the builders wrote as dicts before them (the expected bytes
below were taken from that code), which existing clients parse. And the lists the docs and the tests walk name
every model of the union."""

from __future__ import annotations

import typing
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

import pytest

from threadline.caller import Actor
from threadline.db.repositories.inbox_counts import KeyCountRow
from threadline.db.repositories.realtime import RealtimeMessage
from threadline.models.frames import (
    ANSWER_FRAMES,
    PUSHED_FRAMES,
    SERVER_FRAMES,
    InboxCountsByStatus,
    PushedFrame,
    ServerFrame,
    SessionFrameMessage,
)
from threadline.realtime.frames import (
    conversation_message_event,
    conversation_resync_event,
    conversation_updated_event,
    encode_answer,
    encode_frame,
    error_frame,
    inbox_conversation_frame,
    inbox_counts_frame_of,
    session_message_frame,
    subscription_frame,
    window_expired_event,
)
from threadline.vocabulary import CONVERSATION_STATUSES

BOB = UUID("6f1c0000-0000-4000-8000-000000000001")
ANA = UUID("0b6f0000-0000-4000-8000-000000000002")
TEAM = UUID("a2e40000-0000-4000-8000-000000000003")
CONTACT = UUID("0b3d0000-0000-4000-8000-000000000004")
AT = datetime(2026, 2, 1, 10, 30, 0, 123456, tzinfo=UTC)
LATER = datetime(2026, 2, 2, 11, 30, tzinfo=timezone(timedelta(hours=1)))
# Numbers keep Python's spelling (1.5e-07, 1e+20): metadata is encoded by json.dumps, as it always was.
METADATA = {"deviceType": "iOS", "small": 1.5e-7, "big": 1e20, "list": [1, None, True, "x"]}
COUNT_ROWS = [
    KeyCountRow("open", None, None, 3),
    KeyCountRow("open", BOB, TEAM, 4),
    KeyCountRow("open", None, TEAM, 1),
    KeyCountRow("resolved", BOB, None, 9),
    KeyCountRow("pending", ANA, None, 0),
]


def message(**changed: typing.Any) -> RealtimeMessage:
    fields: dict[str, typing.Any] = {
        "id": 7,
        "conversation_id": 123,
        "external_id": "msg_001",
        "direction": "inbound",
        "type": "text",
        # Non-ASCII stays as is (U+2028 too), quotes and backslashes are escaped, control characters as \u00XX.
        "content": 'Hi \u00e9 \u2028 "quoted" \\ </script>\u0001',
        "media_url": None,
        "status": "received",
        "source": "ingest",
        "sent_at": AT,
        "created_at": AT + timedelta(seconds=1),
        "error_code": None,
        "error_title": None,
    }
    return RealtimeMessage(**(fields | changed))


def stamped(frame: PushedFrame, seq: int | None) -> bytes:
    """As the publisher posts it: with its seq, compact UTF-8 JSON."""
    return encode_frame(frame.model_copy(update={"seq": seq}))


def answered(frame: typing.Any) -> bytes:
    """As the WebSocket route answers it."""
    return encode_answer(frame).encode()


@pytest.mark.parametrize(
    ("build", "wire"),
    [
        pytest.param(
            lambda: stamped(
                session_message_frame(
                    "wses_abc",
                    SessionFrameMessage(
                        id="456", role="user", content="What are my open tasks? \u00fc", metadata=METADATA, createdAt=AT
                    ),
                ),
                12,
            ),
            '{"type":"session_message","sessionUuid":"wses_abc","message":{"id":"456","role":"user","content":"What are my open tasks? ü","metadata":{"deviceType":"iOS","small":1.5e-07,"big":1e+20,"list":[1,null,true,"x"]},"createdAt":"2026-02-01T10:30:00.123Z"},"seq":12}',
            id="session",
        ),
        pytest.param(
            lambda: stamped(conversation_message_event("created", message()).frame, 41),
            '{"type":"conversation_message","conversationId":123,"event":"created","message":{"id":7,"conversationId":123,"externalId":"msg_001","direction":"inbound","type":"text","content":"Hi é \u2028 \\"quoted\\" \\\\ </script>\\u0001","mediaUrl":null,"status":"received","source":"ingest","sentAt":"2026-02-01T10:30:00.123Z","createdAt":"2026-02-01T10:30:01.123Z","error":null,"private":false},"seq":41}',
            id="message_created",
        ),
        pytest.param(
            lambda: stamped(
                conversation_message_event(
                    "status",
                    message(
                        direction="outbound",
                        status="failed",
                        source="manual_ui",
                        error_code=131047,
                        error_title="Re-engagement message",
                        media_url="https://x/y.png",
                        type="image",
                    ),
                ).frame,
                None,
            ),
            '{"type":"conversation_message","conversationId":123,"event":"status","message":{"id":7,"conversationId":123,"externalId":"msg_001","direction":"outbound","type":"image","content":"Hi é \u2028 \\"quoted\\" \\\\ </script>\\u0001","mediaUrl":"https://x/y.png","status":"failed","source":"manual_ui","sentAt":"2026-02-01T10:30:00.123Z","createdAt":"2026-02-01T10:30:01.123Z","error":{"code":131047,"title":"Re-engagement message"},"private":false},"seq":null}',
            id="message_failed",
        ),
        pytest.param(
            lambda: stamped(
                conversation_message_event(
                    "updated",
                    message(
                        direction="outbound", status="pending", source="manual_ui", error_title="Meta did not confirm"
                    ),
                ).frame,
                43,
            ),
            '{"type":"conversation_message","conversationId":123,"event":"updated","message":{"id":7,"conversationId":123,"externalId":"msg_001","direction":"outbound","type":"text","content":"Hi é \u2028 \\"quoted\\" \\\\ </script>\\u0001","mediaUrl":null,"status":"pending","source":"manual_ui","sentAt":"2026-02-01T10:30:00.123Z","createdAt":"2026-02-01T10:30:01.123Z","error":{"code":null,"title":"Meta did not confirm"},"private":false},"seq":43}',
            id="message_unconfirmed",
        ),
        pytest.param(
            lambda: stamped(
                conversation_message_event(
                    "created", message(source="note", is_private=True, direction="outbound")
                ).frame,
                44,
            ),
            '{"type":"conversation_message","conversationId":123,"event":"created","message":{"id":7,"conversationId":123,"externalId":"msg_001","direction":"outbound","type":"text","content":"Hi é \u2028 \\"quoted\\" \\\\ </script>\\u0001","mediaUrl":null,"status":"received","source":"note","sentAt":"2026-02-01T10:30:00.123Z","createdAt":"2026-02-01T10:30:01.123Z","error":null,"private":true},"seq":44}',
            id="note",
        ),
        pytest.param(
            lambda: stamped(conversation_resync_event(123, 240).frame, 45),
            '{"type":"conversation_resync","conversationId":123,"messagesAdded":240,"seq":45}',
            id="resync",
        ),
        pytest.param(
            lambda: stamped(window_expired_event(123, CONTACT, LATER).frame, None),
            '{"type":"conversation_window","conversationId":123,"contactId":"0b3d0000-0000-4000-8000-000000000004","windowStatus":"expired","windowExpiresAt":"2026-02-02T10:30:00.000Z","seq":null}',
            id="window",
        ),
        pytest.param(
            lambda: stamped(
                conversation_updated_event(
                    123,
                    {"assignee_id": BOB, "assignee": {"id": BOB, "name": "Bob", "avatar_url": None}},
                    Actor(ANA, "Ana"),
                    4,
                ).frame,
                46,
            ),
            '{"type":"conversation_updated","conversationId":123,"changes":{"assignee_id":"6f1c0000-0000-4000-8000-000000000001","assignee":{"id":"6f1c0000-0000-4000-8000-000000000001","name":"Bob","avatar_url":null}},"by":{"id":"0b6f0000-0000-4000-8000-000000000002","name":"Ana"},"version":4,"seq":46}',
            id="updated_assignee",
        ),
        pytest.param(
            lambda: stamped(
                conversation_updated_event(
                    123,
                    {
                        "status": "snoozed",
                        "snoozed_until": LATER,
                        "assignee_id": None,
                        "assignee": None,
                        "team_id": TEAM,
                        "team": {"id": TEAM, "name": "Billing"},
                        "priority": "urgent",
                    },
                    Actor(ANA, "Ana"),
                    5,
                ).frame,
                47,
            ),
            '{"type":"conversation_updated","conversationId":123,"changes":{"status":"snoozed","snoozed_until":"2026-02-02T10:30:00.000Z","assignee_id":null,"assignee":null,"team_id":"a2e40000-0000-4000-8000-000000000003","team":{"id":"a2e40000-0000-4000-8000-000000000003","name":"Billing"},"priority":"urgent"},"by":{"id":"0b6f0000-0000-4000-8000-000000000002","name":"Ana"},"version":5,"seq":47}',
            id="updated_all",
        ),
        pytest.param(
            lambda: stamped(
                conversation_updated_event(123, {"status": "open", "snoozed_until": None}, None, 6).frame, 48
            ),
            '{"type":"conversation_updated","conversationId":123,"changes":{"status":"open","snoozed_until":null},"by":null,"version":6,"seq":48}',
            id="updated_reopen",
        ),
        pytest.param(
            lambda: stamped(
                conversation_updated_event(123, {"labels": ["vip", "billing"]}, Actor(ANA, "Ana"), 7).frame, 49
            ),
            '{"type":"conversation_updated","conversationId":123,"changes":{"labels":["vip","billing"]},"by":{"id":"0b6f0000-0000-4000-8000-000000000002","name":"Ana"},"version":7,"seq":49}',
            id="updated_labels",
        ),
        pytest.param(
            lambda: stamped(inbox_conversation_frame("created", 5, {"status": "open"}, None, 1), 50),
            '{"type":"inbox_conversation","event":"created","conversationId":5,"changes":{"status":"open"},"by":null,"version":1,"seq":50}',
            id="inbox_created",
        ),
        pytest.param(
            lambda: stamped(
                inbox_conversation_frame(
                    "assigned",
                    5,
                    {"assignee_id": BOB, "assignee": {"id": BOB, "name": "Bob", "avatar_url": "https://a/b.png"}},
                    None,
                    2,
                ),
                51,
            ),
            '{"type":"inbox_conversation","event":"assigned","conversationId":5,"changes":{"assignee_id":"6f1c0000-0000-4000-8000-000000000001","assignee":{"id":"6f1c0000-0000-4000-8000-000000000001","name":"Bob","avatar_url":"https://a/b.png"}},"by":null,"version":2,"seq":51}',
            id="inbox_assigned",
        ),
        pytest.param(
            lambda: stamped(inbox_counts_frame_of(COUNT_ROWS), None),
            '{"type":"inbox_counts","counts":{"open":{"all":8,"unassigned":4,"assignees":{"6f1c0000-0000-4000-8000-000000000001":4},"teams":{"a2e40000-0000-4000-8000-000000000003":{"all":5,"unassigned":1}}},"pending":{"all":0,"unassigned":0,"assignees":{"0b6f0000-0000-4000-8000-000000000002":0},"teams":{}},"snoozed":{"all":0,"unassigned":0,"assignees":{},"teams":{}},"resolved":{"all":9,"unassigned":0,"assignees":{"6f1c0000-0000-4000-8000-000000000001":9},"teams":{}}},"seq":null}',
            id="counts",
        ),
        pytest.param(
            lambda: stamped(inbox_counts_frame_of([]), None),
            '{"type":"inbox_counts","counts":{"open":{"all":0,"unassigned":0,"assignees":{},"teams":{}},"pending":{"all":0,"unassigned":0,"assignees":{},"teams":{}},"snoozed":{"all":0,"unassigned":0,"assignees":{},"teams":{}},"resolved":{"all":0,"unassigned":0,"assignees":{},"teams":{}}},"seq":null}',
            id="counts_empty",
        ),
        pytest.param(
            lambda: answered(subscription_frame("subscribed", "conversation", "123")),
            '{"type": "subscribed", "topic": "conversation", "conversationId": 123}',
            id="sub_conversation",
        ),
        pytest.param(
            lambda: answered(subscription_frame("unsubscribed", "session", "wses_abc")),
            '{"type": "unsubscribed", "topic": "session", "sessionUuid": "wses_abc"}',
            id="unsub_session",
        ),
        pytest.param(
            lambda: answered(subscription_frame("subscribed", "inbox", "tenant")),
            '{"type": "subscribed", "topic": "inbox"}',
            id="sub_inbox",
        ),
        pytest.param(
            lambda: answered(error_frame("Conversation not found", "subscribe_conversation")),
            '{"type": "error", "error": "Conversation not found", "action": "subscribe_conversation"}',
            id="error",
        ),
        pytest.param(
            lambda: answered(error_frame("Unknown type '\u00e9x'", None)),
            '{"type": "error", "error": "Unknown type \'\\u00e9x\'", "action": null}',
            id="error_no_action",
        ),
    ],
)
def test_each_frame_is_the_json_it_always_was(build: Callable[[], bytes], wire: str):
    assert build() == wire.encode("utf-8")


def _members(union: typing.Any) -> set[type]:
    found: set[type] = set()
    for member in typing.get_args(union):
        found |= _members(member) if typing.get_args(member) else {member} if isinstance(member, type) else set()
    return found


def test_the_frame_lists_name_every_member_of_the_union_once():
    assert len(SERVER_FRAMES) == len(set(SERVER_FRAMES))
    assert set(SERVER_FRAMES) == _members(ServerFrame)
    assert set(PUSHED_FRAMES) == {frame for frame in SERVER_FRAMES if issubclass(frame, PushedFrame)}
    assert set(ANSWER_FRAMES) == set(SERVER_FRAMES) - set(PUSHED_FRAMES)


def test_pushed_frames_end_with_their_seq_and_answers_have_none():
    for frame in PUSHED_FRAMES:
        assert list(frame.model_fields)[-1] == "seq", frame.__name__
    for frame in ANSWER_FRAMES:
        assert "seq" not in frame.model_fields, frame.__name__


def test_the_counts_frame_has_every_conversation_status_in_order():
    assert tuple(InboxCountsByStatus.model_fields) == CONVERSATION_STATUSES
