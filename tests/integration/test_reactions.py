"""Reactions both ways: a customer's reaction from Meta's webhook, stored on the message it names, and an agent's
reaction through PUT /v1/conversations/{id}/messages/{message_id}/reaction, sent through Meta (the fake Graph API).
Read back through both message views, the event log and the WebSocket frames."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from tests.support.event_log import all_events
from tests.support.factories import Number
from tests.support.meta_payloads import change, contact, inbound, notification, now_seconds, post, text_message, wamid
from tests.support.read import call, claims_for
from tests.support.realtime import subscribe

pytestmark = pytest.mark.usefixtures("meta_secrets")


def receive(number: Number, *messages: dict[str, Any]) -> None:
    answer = post(notification(change(number.phone_number_id, contacts=[contact()], messages=list(messages))))
    assert answer.status == 200, answer.body


def reaction(meta_id: str, target: str, emoji: str | None, *, at: int | None = None) -> dict[str, Any]:
    """Meta's reaction message; without `emoji` it is a removal (Meta leaves the field out)."""
    body: dict[str, Any] = {"message_id": target}
    if emoji is not None:
        body["emoji"] = emoji
    return inbound(meta_id, "reaction", body, at=at)


def row_of(admin: psycopg.Connection[Any], number: Number, meta_id: str) -> dict[str, Any]:
    with admin.cursor(row_factory=dict_row) as cursor:
        row = cursor.execute(
            "SELECT m.id, m.conversation_id, v.contact_id, v.message_count, v.countable_count, v.last_message_at,"
            " v.last_message_preview FROM messages m JOIN conversations v ON v.id = m.conversation_id"
            " WHERE m.tenant_id = %s AND m.meta_id = %s",
            (number.tenant_id, meta_id),
        ).fetchone()
    assert row is not None, meta_id
    return row


def shown_reactions(number: Number, conversation_id: int, message_id: int) -> list[Any]:
    """The message's reactions in both views (asserted equal)."""
    claims = claims_for(number.tenant_id)
    status, listed = call("list_messages_v1", claims=claims, path_id=conversation_id)
    assert status == 200, listed
    status, agent = call("agent_messages", claims=claims, path_id=conversation_id)
    assert status == 200, agent
    [in_list] = [item["reactions"] for item in listed["messages"] if item["id"] == message_id]
    [in_agent] = [item["reactions"] for item in agent["data"]["messages"] if item["id"] == message_id]
    assert in_list == in_agent
    return in_list


@pytest.fixture
def customer_message(number, admin) -> dict[str, Any]:
    meta_id = wamid()
    receive(number, text_message(meta_id, "Is it in stock?", at=now_seconds(-120)))
    return row_of(admin, number, meta_id) | {"meta_id": meta_id}


class TestTheCustomersReactions:
    def test_a_reaction_is_shown_on_its_message_and_moves_nothing_else(self, number, admin, customer_message):
        before = row_of(admin, number, customer_message["meta_id"])
        reacted_at = now_seconds(-60)

        receive(number, reaction(wamid(), customer_message["meta_id"], "👍", at=reacted_at))

        reactions = shown_reactions(number, customer_message["conversation_id"], customer_message["id"])
        assert reactions == [
            {
                "emoji": "👍",
                "by": {"type": "customer", "id": str(customer_message["contact_id"]), "name": "Sheena Nelson"},
                "at": reactions[0]["at"],
            }
        ]
        assert reactions[0]["at"].startswith(datetime.fromtimestamp(reacted_at, UTC).strftime("%Y-%m-%dT%H:%M:%S"))
        after = row_of(admin, number, customer_message["meta_id"])
        for column in ("message_count", "countable_count", "last_message_at", "last_message_preview"):
            assert after[column] == before[column], column

    def test_the_next_reaction_replaces_and_an_empty_or_missing_emoji_removes(self, number, admin, customer_message):
        target, conversation_id, message_id = (
            customer_message["meta_id"],
            customer_message["conversation_id"],
            customer_message["id"],
        )

        receive(number, reaction(wamid(), target, "👍", at=now_seconds(-50)))
        receive(number, reaction(wamid(), target, "❤️", at=now_seconds(-40)))
        assert [r["emoji"] for r in shown_reactions(number, conversation_id, message_id)] == ["❤️"]

        receive(number, reaction(wamid(), target, None, at=now_seconds(-30)))
        assert shown_reactions(number, conversation_id, message_id) == []

        receive(number, reaction(wamid(), target, "😂", at=now_seconds(-20)))
        receive(number, reaction(wamid(), target, "", at=now_seconds(-10)))
        assert shown_reactions(number, conversation_id, message_id) == []

    def test_an_older_reaction_delivered_late_changes_nothing(self, number, admin, customer_message):
        target = customer_message["meta_id"]
        receive(number, reaction(wamid(), target, None, at=now_seconds(-10)))  # removed, then...
        receive(number, reaction(wamid(), target, "👍", at=now_seconds(-50)))  # ...the earlier reaction arrives

        assert shown_reactions(number, customer_message["conversation_id"], customer_message["id"]) == []

    def test_each_change_is_a_reactions_changed_event_and_a_frame(
        self, number, admin, customer_message, management_api
    ):
        watcher = subscribe(admin, number.tenant_id, ("conversation", customer_message["conversation_id"]))
        claims = claims_for(number.tenant_id)
        after = max([event["seq"] for event in all_events(claims)], default=0)

        receive(number, reaction(wamid(), customer_message["meta_id"], "🎉", at=now_seconds(-5)))

        [event] = [e for e in all_events(claims, after=after) if e["type"] == "message.reactions_changed"]
        assert event["conversation_id"] == customer_message["conversation_id"]
        assert event["data"]["message_id"] == customer_message["id"]
        assert [r["emoji"] for r in event["data"]["reactions"]] == ["🎉"]
        assert [e["type"] for e in all_events(claims, after=after)] == ["message.reactions_changed"]
        [frame] = management_api(watcher)
        assert frame == {
            "type": "message_reactions",
            "conversationId": customer_message["conversation_id"],
            "messageId": customer_message["id"],
            "reactions": [
                {
                    "emoji": "🎉",
                    "by": {"type": "customer", "id": str(customer_message["contact_id"]), "name": "Sheena Nelson"},
                    "at": frame["reactions"][0]["at"],
                }
            ],
            "seq": event["seq"],
        }

    def test_a_reaction_to_a_message_in_the_same_notification_finds_it(self, number, admin):
        message, reacting = wamid(), wamid()

        receive(number, text_message(message, "Photo attached", at=now_seconds(-30)), reaction(reacting, message, "👀"))

        row = row_of(admin, number, message)
        assert [r["emoji"] for r in shown_reactions(number, row["conversation_id"], row["id"])] == ["👀"]

    def test_a_reaction_to_an_unknown_message_is_kept_and_a_replay_places_it_once_the_message_exists(
        self, number, admin
    ):
        from threadline.domain.intake.whatsapp_notifications import replay_notification

        later, reacting = wamid(), wamid()
        receive(number, reaction(reacting, later, "🙏"))
        with admin.cursor(row_factory=dict_row) as cursor:
            [letter] = cursor.execute(
                "SELECT * FROM whatsapp_dead_letters WHERE tenant_id = %s", (number.tenant_id,)
            ).fetchall()
        assert letter["reason"] == "messages[0]: a reaction to a message Threadline does not know"

        receive(number, text_message(later, "Thanks!", at=now_seconds(-60)))
        receipt = replay_notification(bytes(letter["raw"]))

        assert receipt.unplaced == ()
        row = row_of(admin, number, later)
        assert [r["emoji"] for r in shown_reactions(number, row["conversation_id"], row["id"])] == ["🙏"]
