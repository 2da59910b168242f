"""The event log (issue 11 §1): every change appends an event in its own transaction, numbered gap-free per tenant,
read back through GET /v1/events (and /api/v1/events) with the bearer token's tenant only. Every event read here is
held to its type's data model (tests/support/event_log.py); one test makes every type through real writes."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from devtools import fake_graph as graph
from tests.support import connectors
from tests.support.event_log import all_events, close_window_and_run_the_expiry_job, read_events
from tests.support.inbox import add_team, call, customer_writes, make_inbox, patch
from tests.support.ingest import batch, call_ingest, conversation, message
from tests.support.realtime import subscribe
from tests.support.routes import call_route, service_claims
from tests.support.send import call_send, customer_wrote, make_whatsapp_tenant
from threadline.delivery.dispatcher import sweep_deliveries
from threadline.domain.events.log import purge_expired_events
from threadline.domain.events.targets import TARGET_KINDS
from threadline.models.event_data import EVENT_DATA_MODELS
from threadline.vocabulary import EVENT_TYPES


def types_of(events: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in events]


def test_an_ingest_appends_its_conversation_message_and_window_events_numbered_from_one(make_connector, admin):
    # Given a new tenant
    inbox = make_inbox(make_connector, admin, "Ana")
    # When a connector pushes a customer's first message
    conversation_id = customer_writes(inbox, "chat_events_1")
    # Then the log holds the conversation, the message and the contact's window opening, seq 1, 2, 3
    answer = read_events(inbox.claims("Ana"))
    assert answer.status == 200, answer.body
    events = answer.body["events"]
    assert [event["seq"] for event in events] == [1, 2, 3]
    assert sorted(types_of(events)) == ["conversation.created", "message.created", "window.opened"]
    created = next(event for event in events if event["type"] == "message.created")
    assert created["conversation_id"] == conversation_id
    assert created["data"]["direction"] == "inbound"
    assert created["data"]["actor"] is None  # a connector, not an agent
    assert created["occurred_at"].endswith("Z")
    assert answer.body["next_after"] == 3
    # And the seed-style path answers the same page
    assert read_events(inbox.claims("Ana"), prefix="/api/v1").body == answer.body


def test_agent_changes_are_events_naming_the_agent(make_connector, admin):
    inbox = make_inbox(make_connector, admin, "Ana")
    conversation_id = customer_writes(inbox, "chat_events_2")
    claims = inbox.claims("Ana")
    head = read_events(claims).body["next_after"]
    # When Ana assigns herself, resolves it, labels it and writes a note
    assert patch(conversation_id, {"assignee_id": str(inbox.agents["Ana"])}, claims=claims).status == 200
    assert patch(conversation_id, {"status": "resolved", "priority": "high"}, claims=claims).status == 200
    labels = call("PUT", f"/v1/conversations/{conversation_id}/labels", claims=claims, body={"labels": ["vip"]})
    assert labels.status == 200, labels.body
    note = call("POST", f"/v1/conversations/{conversation_id}/notes", claims=claims, body={"content": "call back"})
    assert note.status == 201, note.body
    # Then each is an event of the conversation, in order, naming Ana
    events = all_events(claims, after=head, conversation_id=conversation_id)
    kinds = [event["type"] for event in events if event["type"] != "message.created"]  # activity messages
    assert kinds == ["conversation.assigned", "conversation.updated", "conversation.labels_changed", "note.created"]
    assigned, updated, labelled, noted = (next(e for e in events if e["type"] == kind) for kind in kinds)
    assert assigned["data"]["assignee_id"] == str(inbox.agents["Ana"])
    assert {event["data"]["actor"]["type"] for event in (assigned, updated, labelled, noted)} == {"agent"}
    assert {event["data"]["actor"]["id"] for event in (assigned, updated, labelled, noted)} == {
        str(inbox.agents["Ana"])
    }
    assert updated["data"]["changes"] == {"status": "resolved", "priority": "high"}
    assert labelled["data"]["added"] == ["vip"] and labelled["data"]["labels"] == ["vip"]
    assert noted["data"]["content"] == "call back" and noted["data"]["private"] is True
    # And the seqs after the head are gap-free across every type
    everything = all_events(claims, after=head)
    assert [event["seq"] for event in everything] == list(range(head + 1, head + 1 + len(everything)))


def test_filters_by_type_and_the_caught_up_next_after(make_connector, admin):
    inbox = make_inbox(make_connector, admin, "Ana")
    customer_writes(inbox, "chat_events_3")
    customer_writes(inbox, "chat_events_3")
    answer = read_events(inbox.claims("Ana"), types="message.created,note.created")
    assert types_of(answer.body["events"]) == ["message.created", "message.created"]
    # Caught up: next_after is the head, past the filtered-out events
    assert answer.body["next_after"] == read_events(inbox.claims("Ana")).body["next_after"]


def test_twenty_concurrent_writers_leave_a_gap_free_duplicate_free_log(make_connector, admin):
    # Given one tenant and 20 writers pushing at the same moment, some of them rolled back
    inbox = make_inbox(make_connector, admin)
    start = threading.Barrier(20)
    failures: list[BaseException] = []

    def writer(number: int) -> None:
        try:
            start.wait()
            customer_writes(inbox, f"chat_concurrent_{number % 7}")
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    # A transaction that appends and rolls back leaves no hole
    with psycopg.connect(admin.info.dsn) as conn:
        conn.execute("UPDATE conversations SET priority = 'low' WHERE tenant_id = %s", (inbox.tenant_id,))
        conn.rollback()
    for thread in threads:
        thread.join()
    assert not failures
    # Then every seq from 1 to the head appears exactly once
    events = all_events(inbox.claims())
    seqs = [event["seq"] for event in events]
    assert seqs == list(range(1, len(seqs) + 1))
    assert types_of(events).count("message.created") == 20


def test_another_tenants_token_sees_none_of_the_log(make_connector, admin):
    mine = make_inbox(make_connector, admin, "Ana")
    theirs = make_inbox(make_connector, admin, "Bob")
    customer_writes(mine, "chat_events_mine")
    answer = read_events(theirs.claims("Bob"))
    assert answer.status == 200
    assert answer.body == {"events": [], "next_after": 0}


def test_an_after_older_than_the_log_keeps_is_410_telling_to_reload(make_connector, admin):
    inbox = make_inbox(make_connector, admin)
    customer_writes(inbox, "chat_events_old")
    # Given events older than the retention (moved back in time by the owner), purged by the scheduled step
    admin.execute(
        "UPDATE events SET occurred_at = now() - interval '8 days' WHERE tenant_id = %s AND seq <= 2",
        (inbox.tenant_id,),
    )
    assert purge_expired_events() >= 2
    # When a client asks for what came after seq 1 (seq 2 is gone)
    answer = read_events(inbox.claims(), after=1)
    # Then it is told to reload
    assert answer.status == 410
    assert "reload" in answer.body["error"]
    # And from the purged seq on, reading goes on
    assert [event["seq"] for event in read_events(inbox.claims(), after=2).body["events"]] == [3]


def test_the_purge_keeps_a_week(make_connector, admin):
    inbox = make_inbox(make_connector, admin)
    customer_writes(inbox, "chat_events_week")
    # Six days from now nothing of this tenant is old enough
    purge_expired_events(now=datetime.now(UTC) + timedelta(days=6))
    assert len(all_events(inbox.claims())) == 3
    # Eight days from now all of it is, and a client that had nothing is told to reload
    purge_expired_events(now=datetime.now(UTC) + timedelta(days=8))
    assert read_events(inbox.claims()).status == 410
    assert read_events(inbox.claims(), after=3).body == {"events": [], "next_after": 3}


@pytest.mark.parametrize(
    ("query", "problem"),
    [({"limit": "0"}, "limit"), ({"limit": "501"}, "limit"), ({"after": "-1"}, "after"), ({"types": "nope"}, "types")],
)
def test_malformed_queries_are_400s_naming_the_parameter(make_connector, admin, query, problem):
    inbox = make_inbox(make_connector, admin)
    answer = read_events(inbox.claims(), **query)
    assert answer.status == 400
    assert answer.body["error"].startswith(f"{problem}:")


def test_a_token_without_a_tenant_is_refused(make_connector, admin):
    from tests.support.routes import call_route

    status, body = call_route("GET", "/v1/events")
    assert status == 401
    assert body == {"message": "Unauthorized"}


def test_a_subscriber_that_reconnects_catches_up_with_no_gap_and_no_duplicate(make_connector, admin, management_api):
    # Given an agent's browser subscribed to a conversation, receiving frames with their seqs
    inbox = make_inbox(make_connector, admin, "Ana")
    conversation_id = customer_writes(inbox, "chat_reconnect")
    before = read_events(inbox.claims("Ana"), conversation_id=conversation_id).body["next_after"]
    watcher = subscribe(admin, inbox.tenant_id, ("conversation", conversation_id))
    customer_writes(inbox, "chat_reconnect")
    patch(conversation_id, {"priority": "high"}, claims=inbox.claims("Ana"))
    seen = management_api(watcher)
    assert seen and all(isinstance(frame["seq"], int) for frame in seen)
    last_seen = max(frame["seq"] for frame in seen)
    # When it drops mid-stream (API Gateway forgets the connection) and the conversation goes on without it
    admin.execute("DELETE FROM websocket_connections WHERE connection_id = %s", (watcher,))
    customer_writes(inbox, "chat_reconnect")
    patch(conversation_id, {"status": "resolved"}, claims=inbox.claims("Ana"))
    call("POST", f"/v1/conversations/{conversation_id}/notes", claims=inbox.claims("Ana"), body={"content": "x"})
    assert management_api(watcher) == seen  # nothing reached it while away
    # Then asking for what came after the last seq it saw returns exactly what it missed
    missed = all_events(inbox.claims("Ana"), after=last_seen, conversation_id=conversation_id)
    everything = all_events(inbox.claims("Ana"), after=before, conversation_id=conversation_id)
    frame_seqs = sorted({frame["seq"] for frame in seen})
    # (every frame showed an event of the conversation; the activity messages' own events had frames too)
    assert set(frame_seqs) <= {event["seq"] for event in everything if event["seq"] <= last_seen}
    assert [event["seq"] for event in missed] == [event["seq"] for event in everything if event["seq"] > last_seen]
    assert not {event["seq"] for event in missed} & set(frame_seqs)
    missed_types = [event["type"] for event in missed]
    assert "conversation.updated" in missed_types and "note.created" in missed_types
    assert missed_types.count("message.created") >= 2  # the customer's message and the activity messages


def test_the_expiry_job_appends_window_closed_in_the_transaction_that_moves_its_mark(make_connector, admin):
    inbox = make_inbox(make_connector, admin)
    conversation_id = customer_writes(inbox, "chat_window_closing")
    contact = admin.execute("SELECT id FROM contacts WHERE tenant_id = %s", (inbox.tenant_id,)).fetchone()[0]
    # Given the conversation's window closed, when the scheduled job runs
    close_window_and_run_the_expiry_job(admin, conversation_id)
    # Then the log has one window.closed for the conversation and its contact
    closed = all_events(inbox.claims(), types="window.closed")
    assert [(event["data"]["conversation_id"], event["data"]["contact_id"]) for event in closed] == [
        (conversation_id, str(contact))
    ]
    assert closed[0]["conversation_id"] == conversation_id


def test_every_event_type_is_appended_by_real_writes_and_its_data_is_what_its_model_says(
    make_connector, admin, fake_graph, fake_connector
):
    """Each type through the writes that make it (the other tests' ways), read back through GET /v1/events, which
    holds every event's data to its type's model (tests/support/event_log.py: nothing missing, nothing extra, no type without a
    model)."""
    assert set(EVENT_DATA_MODELS) == set(EVENT_TYPES)
    seen: set[str] = set()

    # An inbox: a customer's first message (conversation.created, message.created, window.opened), agents' changes
    # (conversation.assigned, conversation.updated with a snooze, a team and a priority, labels_changed, note.created)
    # and the window closing (window.closed).
    inbox = make_inbox(make_connector, admin, "Ana")
    ana = inbox.claims("Ana")
    conversation_id = customer_writes(inbox, "chat_every_type")
    team = add_team(admin, inbox, "Billing", "Ana")
    snooze_until = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    for change in (
        {"assignee_id": str(inbox.agents["Ana"]), "team_id": str(team)},
        {"status": "snoozed", "snoozed_until": snooze_until},
        {"status": "resolved", "priority": "high"},
    ):
        assert patch(conversation_id, change, claims=ana).status == 200
    labels = call("PUT", f"/v1/conversations/{conversation_id}/labels", claims=ana, body={"labels": ["vip", "late"]})
    assert labels.status == 200, labels.body
    assert (
        call("PUT", f"/v1/conversations/{conversation_id}/labels", claims=ana, body={"labels": ["vip"]}).status == 200
    )
    note = call("POST", f"/v1/conversations/{conversation_id}/notes", claims=ana, body={"content": "call back"})
    assert note.status == 201, note.body
    close_window_and_run_the_expiry_job(admin, conversation_id)
    seen |= {event["type"] for event in all_events(ana)}

    # WhatsApp sends by a service token: one Meta accepts (message.status_changed: pending -> sent) and the business
    # reacts on, one Meta never confirms (message.updated: still pending, its error says so).
    whatsapp = make_whatsapp_tenant(admin)
    chat = customer_wrote(whatsapp, phone="+447700900123", ago=timedelta(minutes=5))
    sent = call_send(
        {"content": "On its way"},
        tenant_id=whatsapp.tenant_id,
        event_file="conversation-send-seed-path.json",
        conversation_id=chat,
    )
    assert sent[0] == 201, sent
    # The business reacts on it through Meta (message.reactions_changed).
    reacted = call_route(
        "PUT",
        f"/v1/conversations/{chat}/messages/{sent[1]['message']['id']}/reaction",
        body={"emoji": "👍"},
        claims=service_claims(whatsapp.tenant_id),
    )
    assert reacted[0] == 200, reacted
    fake_graph.script(*[graph.malformed_json()] * 5)
    unconfirmed = call_send(
        {"content": "Still there?"},
        tenant_id=whatsapp.tenant_id,
        event_file="conversation-send-seed-path.json",
        conversation_id=chat,
    )
    assert unconfirmed[0] == 502, unconfirmed
    seen |= {event["type"] for event in all_events(service_claims(whatsapp.tenant_id))}

    # A connector's synced copy of an agent's reply folded into the reply (message.deleted).
    signal = make_connector("signal")
    connectors.with_outbound_url(admin, signal, fake_connector.url)
    signal_chat = connectors.customer_writes(signal, "sig_every_type", "+15550001111")
    replied = connectors.reply(signal, signal_chat, {"content": "On its way"})
    assert replied[0] == 201, replied
    copy = message("sig_fold", connectors.now_iso(), direction="outbound")
    synced = call_ingest(
        batch(signal, conversation("sig_every_type", "+15550001111", copy)),
        api_key=signal.api_secret,
    )
    assert synced[1]["results"][0]["messages_added"] == 1, synced
    fake_connector.script(connectors.answer_with("sig_fold"))
    sweep_deliveries(kinds=TARGET_KINDS)
    seen |= {event["type"] for event in all_events(service_claims(signal.tenant_id))}

    assert sorted(seen) == sorted(EVENT_TYPES)
