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


# ---------------------------------------------------------------------------------------------------------------
# The business's reaction: PUT /v1/conversations/{id}/messages/{message_id}/reaction
# ---------------------------------------------------------------------------------------------------------------
def put_reaction(
    number: Number, conversation_id: int | str, message_id: int | str, body: Any, *, prefix: str = "/v1", **kwargs: Any
) -> tuple[int, Any]:
    from tests.support.routes import call_route, service_claims

    return call_route(
        "PUT",
        f"{prefix}/conversations/{conversation_id}/messages/{message_id}/reaction",
        body=body,
        claims=kwargs.pop("claims", None) or service_claims(number.tenant_id, kwargs.pop("user_id", None)),
    )


@pytest.fixture
def agent(number, admin) -> Any:
    row = admin.execute(
        "INSERT INTO users (tenant_id, name, email) VALUES (%s, 'Ana Agent', %s) RETURNING id",
        (number.tenant_id, f"ana-{wamid()[-8:]}@agents.test"),
    ).fetchone()
    assert row is not None
    return row[0]


def reactions_table(admin: psycopg.Connection[Any], message_id: int) -> list[tuple[Any, ...]]:
    return admin.execute(
        "SELECT side, emoji FROM message_reactions WHERE message_id = %s ORDER BY side", (message_id,)
    ).fetchall()


@pytest.mark.usefixtures("fake_graph")
class TestTheBusinesssReaction:
    @pytest.mark.parametrize("prefix", ["/v1", "/api/v1"])
    def test_an_agent_s_reaction_goes_through_meta_and_is_shown_as_theirs(
        self, number, admin, customer_message, agent, fake_graph, management_api, prefix
    ):
        watcher = subscribe(admin, number.tenant_id, ("conversation", customer_message["conversation_id"]))
        conversation_id, message_id = customer_message["conversation_id"], customer_message["id"]

        status, body = put_reaction(number, conversation_id, message_id, {"emoji": "👍"}, prefix=prefix, user_id=agent)

        assert status == 200, body
        (request,) = fake_graph.send_requests
        assert request.phone_number_id == number.phone_number_id
        assert request.json["type"] == "reaction" and request.json["to"] == "16505551234"
        assert request.json["reaction"] == {"message_id": customer_message["meta_id"], "emoji": "👍"}
        expected = [
            {
                "emoji": "👍",
                "by": {"type": "agent", "id": str(agent), "name": "Ana Agent"},
                "at": body["reactions"][0]["at"],
            }
        ]
        assert body == {"conversation_id": conversation_id, "message_id": message_id, "reactions": expected}
        assert shown_reactions(number, conversation_id, message_id) == expected
        [frame] = management_api(watcher)
        assert (frame["type"], frame["messageId"], frame["reactions"][0]["by"]["name"]) == (
            "message_reactions",
            message_id,
            "Ana Agent",
        )
        events = all_events(claims_for(number.tenant_id), conversation_id=conversation_id)
        [event] = [e for e in events if e["type"] == "message.reactions_changed"]
        assert event["data"]["actor"]["id"] == str(agent) and event["seq"] == frame["seq"]

    def test_the_business_has_one_reaction_replaced_by_the_next_and_removed_by_an_empty_emoji(
        self, number, admin, customer_message, agent, fake_graph
    ):
        conversation_id, message_id = customer_message["conversation_id"], customer_message["id"]
        receive(number, reaction(wamid(), customer_message["meta_id"], "❤️", at=now_seconds(-30)))

        assert put_reaction(number, conversation_id, message_id, {"emoji": "👍"}, user_id=agent)[0] == 200
        status, body = put_reaction(number, conversation_id, message_id, {"emoji": "🙏"})

        assert status == 200
        assert [(r["emoji"], r["by"]["type"]) for r in body["reactions"]] == [("❤️", "customer"), ("🙏", "agent")]
        # A service token names no agent: the business's reaction is the tenant's.
        assert body["reactions"][1]["by"]["id"] == str(number.tenant_id)
        status, body = put_reaction(number, conversation_id, message_id, {"emoji": ""}, user_id=agent)
        assert status == 200 and [r["emoji"] for r in body["reactions"]] == ["❤️"]
        assert fake_graph.send_requests[-1].json["reaction"]["emoji"] == ""
        assert reactions_table(admin, message_id) == [("business", None), ("customer", "❤️")]

    @pytest.mark.parametrize(
        ("body", "error"),
        [
            ({"emoji": "ok"}, 'emoji: must be one emoji, or "" to remove the reaction'),
            ({"emoji": "👍 👍"}, 'emoji: must be one emoji, or "" to remove the reaction'),
            ({"emoji": "👍" * 40}, 'emoji: must be one emoji, or "" to remove the reaction'),
            ({"emoji": 1}, "emoji: must be a string"),
            ({}, "emoji: is required"),
            ({"emoji": "👍", "extra": True}, "extra: is not a known field"),
            ("not json", "Request body must be valid JSON"),
        ],
    )
    def test_bad_input_is_a_400_and_nothing_is_sent_or_stored(
        self, number, admin, customer_message, fake_graph, body, error
    ):
        status, answer = put_reaction(number, customer_message["conversation_id"], customer_message["id"], body)

        assert (status, answer) == (400, {"error": error})
        assert fake_graph.send_requests == []
        assert reactions_table(admin, customer_message["id"]) == []

    def test_what_cannot_be_reacted_to_is_refused_before_meta_is_called(
        self, number, admin, customer_message, fake_graph, make_number
    ):
        conversation_id = customer_message["conversation_id"]
        note = admin.execute(
            "INSERT INTO messages (tenant_id, conversation_id, external_id, direction, type, content, sent_at, status,"
            " source, is_private) VALUES (%s, %s, %s, 'outbound', 'text', 'internal', now(), 'sent', 'note', true)"
            " RETURNING id",
            (number.tenant_id, conversation_id, f"note_{wamid()[-10:]}"),
        ).fetchone()[0]  # type: ignore[index]
        pending = admin.execute(
            "INSERT INTO messages (tenant_id, conversation_id, external_id, direction, type, content, sent_at, status,"
            " source) VALUES (%s, %s, %s, 'outbound', 'text', 'on its way', now(), 'pending', 'manual_ui') RETURNING id",
            (number.tenant_id, conversation_id, f"tl_{wamid()[-10:]}"),
        ).fetchone()[0]  # type: ignore[index]
        other = make_number()

        cases = [
            (conversation_id, note, 400, "Only messages the customer sent or received can be reacted to"),
            (conversation_id, pending, 400, "This message has no WhatsApp id yet, so it cannot be reacted to"),
            (conversation_id, 999999999, 404, "Message not found"),
            (conversation_id, "seven", 404, "Message not found"),
            (999999999, customer_message["id"], 404, "Conversation not found"),
        ]
        for conversation, message, status, error in cases:
            assert put_reaction(number, conversation, message, {"emoji": "👍"}) == (status, {"error": error})
        assert put_reaction(other, conversation_id, customer_message["id"], {"emoji": "👍"}) == (
            403,
            {"error": "Forbidden"},
        )
        assert fake_graph.send_requests == []

    def test_outside_the_window_the_reaction_is_refused_and_meta_is_not_called(
        self, number, admin, customer_message, fake_graph
    ):
        admin.execute(
            "UPDATE conversations SET window_expires_at = now() - interval '1 minute' WHERE id = %s",
            (customer_message["conversation_id"],),
        )

        answer = put_reaction(number, customer_message["conversation_id"], customer_message["id"], {"emoji": "👍"})

        assert answer == (400, {"error": "Session window expired"})
        assert fake_graph.send_requests == []

    def test_meta_refusing_the_reaction_is_a_502_and_nothing_is_recorded(
        self, number, admin, customer_message, fake_graph
    ):
        fake_graph.script(fake_graph.meta_error(131009, "Parameter value is not valid", details="Invalid emoji"))

        status, body = put_reaction(
            number, customer_message["conversation_id"], customer_message["id"], {"emoji": "🫠"}
        )

        assert status == 502
        assert body["error"] == "Meta refused the reaction: Parameter value is not valid"
        assert (body["code"], body["details"]) == (131009, "Invalid emoji")
        assert reactions_table(admin, customer_message["id"]) == []

    def test_a_connector_conversation_cannot_carry_reactions(self, admin, make_connector, fake_graph):
        from tests.support.ingest import batch, call_ingest, conversation, message

        connector = make_connector(platform="telegram")
        status, body = call_ingest(
            batch(connector, conversation("tg_chat", "@jane", message("m1", "2026-02-01T10:00:00Z"))),
            api_key=connector.api_secret,
        )
        assert status == 200, body
        conversation_id = int(body["results"][0]["conversation_id"])
        message_id = admin.execute("SELECT id FROM messages WHERE conversation_id = %s", (conversation_id,)).fetchone()[
            0
        ]  # type: ignore[index]
        from tests.support.routes import call_route, service_claims

        answer = call_route(
            "PUT",
            f"/v1/conversations/{conversation_id}/messages/{message_id}/reaction",
            body={"emoji": "👍"},
            claims=service_claims(connector.tenant_id),
        )

        assert answer == (400, {"error": "Reactions can only be sent on WhatsApp conversations"})
        assert fake_graph.send_requests == []
