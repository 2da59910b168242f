"""Real-time fan-out through API Gateway's management API: who receives which frame, in what order, and that a
broadcast never costs a write anything.

Posting goes to moto's apigatewaymanagementapi (it accepts any connection id and keeps what was posted). Moto never
answers 410, so the gone-connection and failure cases talk to a real local HTTP server that answers as the
management API does. Both hold every frame posted to its model (tests/support/contracts.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from devtools.fake_graph import meta_error, unused_local_url
from tests.support.contracts import checked_frame
from tests.support.event_log import close_window_and_run_the_expiry_job
from tests.support.inbox import customer_writes, make_inbox, patch
from tests.support.ingest import batch, call_ingest, conversation, message
from tests.support.realtime import registered, subscribe
from tests.support.send import WhatsAppTenant, call_send, customer_wrote, make_whatsapp_tenant
from threadline.models.frames import SERVER_FRAMES, ConversationResyncFrame, SessionFrameMessage
from threadline.realtime.publisher import (
    MANAGEMENT_URL_VARIABLE,
    MAX_MESSAGES_PUSHED_PER_CONVERSATION,
    ExpiredWindow,
    publish_conversation_events,
    publish_reactions,
    publish_session_message,
    publish_stored_messages,
    publish_window_expiries,
    reset_management_client,
)

PHONE_A = "+447700900123"
PHONE_B = "+447700900456"


@pytest.fixture
def tenant_a(admin: psycopg.Connection[Any]) -> WhatsAppTenant:
    return make_whatsapp_tenant(admin)


@pytest.fixture
def tenant_b(admin: psycopg.Connection[Any]) -> WhatsAppTenant:
    return make_whatsapp_tenant(admin)


def ingest(tenant: WhatsAppTenant, conversation: str, *messages: tuple[str, str], phone: str = PHONE_A) -> Any:
    """Ingest inbound messages (id, sent_at) into one conversation through the real handler."""
    status, body = call_ingest(
        {
            "platform": "whatsapp",
            "connection_id": tenant.connection_id,
            "conversations": [
                {
                    "external_conversation_id": conversation,
                    "participant_identifier": phone,
                    "participant_name": "Jane Customer",
                    "messages": [
                        {"id": mid, "direction": "inbound", "type": "text", "content": f"text {mid}", "sent_at": at}
                        for mid, at in messages
                    ],
                }
            ],
        },
        api_key=tenant.api_secret,
    )
    assert status == 200, body
    return body["results"][0]


def a_session_message() -> SessionFrameMessage:
    return SessionFrameMessage(id="1", role="user", content="hi", metadata={}, createdAt=datetime.now(UTC))


def at(minutes: int) -> str:
    return (datetime(2026, 2, 1, 10, 0, tzinfo=UTC) + timedelta(minutes=minutes)).isoformat()


# ---------------------------------------------------------------------------------------------------------------
# Sessions
# ---------------------------------------------------------------------------------------------------------------


def test_a_session_message_reaches_that_sessions_subscribers_in_that_tenant_only(
    admin, management_api, tenant_a, tenant_b
):
    watcher = subscribe(admin, tenant_a.tenant_id, ("session", "wses_abc"))
    elsewhere = subscribe(admin, tenant_a.tenant_id, ("session", "wses_other"), ("conversation", 1))
    # Tenant B names the same session id (sessions are subscribed by id, unchecked): it must hear nothing of A's.
    other_tenant = subscribe(admin, tenant_b.tenant_id, ("session", "wses_abc"))
    message = SessionFrameMessage(
        id="456", role="user", content="hello", metadata={}, createdAt=datetime(2026, 2, 1, tzinfo=UTC)
    )

    publish_session_message(tenant_a.tenant_id, "wses_abc", message)

    assert management_api(watcher) == [
        {
            "type": "session_message",
            "sessionUuid": "wses_abc",
            "message": {
                "id": "456",
                "role": "user",
                "content": "hello",
                "metadata": {},
                "createdAt": "2026-02-01T00:00:00.000Z",
                # Published by hand: message 456 was never stored, so no event of the log shows it.
            },
            "seq": None,
        }
    ]
    assert management_api(elsewhere) == []
    assert management_api(other_tenant) == []


# ---------------------------------------------------------------------------------------------------------------
# Ingest
# ---------------------------------------------------------------------------------------------------------------


def test_ingest_pushes_only_the_messages_it_added_oldest_first(admin, management_api, tenant_a, tenant_b):
    first = ingest(tenant_a, "chat_1", ("m1", at(1)), ("m2", at(2)))
    watcher = subscribe(admin, tenant_a.tenant_id, ("conversation", first["conversation_id"]))
    bystander = subscribe(admin, tenant_b.tenant_id, ("conversation", first["conversation_id"]))

    # A retried batch with two new messages, one of them older than what is stored.
    second = ingest(tenant_a, "chat_1", ("m1", at(1)), ("m2", at(2)), ("m4", at(4)), ("m0", at(0)))

    assert second["messages_added"] == 2
    frames = management_api(watcher)
    assert [(f["type"], f["event"], f["conversationId"]) for f in frames] == [
        ("conversation_message", "created", first["conversation_id"])
    ] * 2
    assert [f["message"]["externalId"] for f in frames] == ["m0", "m4"]
    stored = admin.execute("SELECT id FROM messages WHERE external_id = 'm0' AND tenant_id = %s", (tenant_a.tenant_id,))
    assert frames[0]["message"] == {
        "id": stored.fetchone()[0],  # type: ignore[index]
        "conversationId": first["conversation_id"],
        "externalId": "m0",
        "direction": "inbound",
        "type": "text",
        "content": "text m0",
        "mediaUrl": None,
        "status": "received",
        "source": "ingest",
        "sentAt": "2026-02-01T10:00:00.000Z",
        "createdAt": frames[0]["message"]["createdAt"],
        "error": None,
        "private": False,
    }
    assert management_api(bystander) == []


def test_a_backfill_sends_one_resync_frame_instead_of_every_message(admin, management_api, tenant_a):
    first = ingest(tenant_a, "chat_backfill", ("m1", at(1)))
    watcher = subscribe(admin, tenant_a.tenant_id, ("conversation", first["conversation_id"]))
    backfill = [(f"b{n}", at(100 + n)) for n in range(MAX_MESSAGES_PUSHED_PER_CONVERSATION + 5)]

    ingest(tenant_a, "chat_backfill", *backfill)

    assert management_api(watcher) == [
        {
            "type": "conversation_resync",
            "conversationId": first["conversation_id"],
            "messagesAdded": MAX_MESSAGES_PUSHED_PER_CONVERSATION + 5,
            # The newest of the backfill's message.created events: catching up after it misses none of them.
            "seq": admin.execute(
                "SELECT max(seq) FROM events WHERE conversation_id = %s AND type = 'message.created'",
                (first["conversation_id"],),
            ).fetchone()[0],
        }
    ]


def test_nobody_subscribed_means_no_call_to_aws_at_all(admin, local_management, tenant_a):
    server = local_management()
    other = ingest(tenant_a, "chat_watched", ("w1", at(1)))
    subscribe(admin, tenant_a.tenant_id, ("conversation", other["conversation_id"]))

    ingest(tenant_a, "chat_unwatched", ("u1", at(1)), ("u2", at(2)))
    publish_session_message(tenant_a.tenant_id, "wses_nobody", a_session_message())

    assert server.posts == []
    from threadline.realtime.publisher import _management_client

    assert _management_client.cache_info().currsize == 0, "no boto3 client is even created"


def test_without_a_management_url_publishing_is_off(admin, monkeypatch, local_management, tenant_a):
    server = local_management()
    monkeypatch.delenv(MANAGEMENT_URL_VARIABLE)
    first = ingest(tenant_a, "chat_off", ("o1", at(1)))
    subscribe(admin, tenant_a.tenant_id, ("conversation", first["conversation_id"]))

    ingest(tenant_a, "chat_off", ("o2", at(2)))

    assert server.posts == []


# ---------------------------------------------------------------------------------------------------------------
# Gone connections, failures
# ---------------------------------------------------------------------------------------------------------------


def test_connections_answering_410_are_forgotten_and_the_others_still_served(admin, local_management, tenant_a):
    first = ingest(tenant_a, "chat_gone", ("g1", at(1)))
    conversation = ("conversation", first["conversation_id"])
    gone = subscribe(admin, tenant_a.tenant_id, conversation, ("session", "wses_1"))
    alive = subscribe(admin, tenant_a.tenant_id, conversation)
    server = local_management({gone: 410})

    ingest(tenant_a, "chat_gone", ("g2", at(2)))

    assert registered(admin, gone) == (0, 0)
    assert registered(admin, alive) == (1, 1)
    assert sorted(connection for connection, _ in server.posts) == sorted([gone, alive])
    (delivered,) = [json.loads(body) for connection, body in server.posts if connection == alive]
    assert delivered["message"]["externalId"] == "g2"


def test_expired_connections_are_not_posted_to(admin, local_management, tenant_a):
    first = ingest(tenant_a, "chat_expired", ("e1", at(1)))
    subscribe(admin, tenant_a.tenant_id, ("conversation", first["conversation_id"]), expires_in=timedelta(minutes=-1))
    server = local_management()

    ingest(tenant_a, "chat_expired", ("e2", at(2)))

    assert server.posts == []


@pytest.mark.parametrize("management", ["answers 500", "refuses connections"])
def test_a_failing_broadcast_never_fails_or_rolls_back_the_write(
    admin, local_management, monkeypatch, tenant_a, management
):
    first = ingest(tenant_a, "chat_failing", ("f1", at(1)))
    watcher = subscribe(admin, tenant_a.tenant_id, ("conversation", first["conversation_id"]))
    server = local_management(default=500)
    if management == "refuses connections":
        monkeypatch.setenv(MANAGEMENT_URL_VARIABLE, unused_local_url())
        reset_management_client()

    result = ingest(tenant_a, "chat_failing", ("f2", at(2)), ("f3", at(3)))

    assert result["messages_added"] == 2
    stored = admin.execute(
        "SELECT count(*) FROM messages WHERE conversation_id = %s", (first["conversation_id"],)
    ).fetchone()
    assert stored == (3,)
    assert registered(admin, watcher) == (1, 1), "a failure is not a 410: the subscriber stays"
    if management == "answers 500":
        # The frames of one connection stop at its first failure, so later ones never arrive out of order.
        assert {connection for connection, _ in server.posts} == {watcher}


def test_a_subscription_naming_another_tenants_conversation_never_receives_it(
    admin, management_api, tenant_a, tenant_b
):
    first = ingest(tenant_a, "chat_private", ("p1", at(1)))
    owner = subscribe(admin, tenant_a.tenant_id, ("conversation", first["conversation_id"]))
    # Forged: the WebSocket route refuses this (the conversation is invisible to tenant B), so arrange it directly.
    intruder = subscribe(admin, tenant_b.tenant_id, ("conversation", first["conversation_id"]))

    ingest(tenant_a, "chat_private", ("p2", at(2)))

    assert [f["message"]["externalId"] for f in management_api(owner)] == ["p2"]
    assert management_api(intruder) == []


# ---------------------------------------------------------------------------------------------------------------
# Sends and windows
# ---------------------------------------------------------------------------------------------------------------


def test_a_send_pushes_the_pending_message_then_its_sent_status(admin, management_api, fake_graph, tenant_a, tenant_b):
    conversation = customer_wrote(tenant_a, phone=PHONE_A, ago=timedelta(minutes=5))
    watcher = subscribe(admin, tenant_a.tenant_id, ("conversation", conversation))
    bystander = subscribe(admin, tenant_b.tenant_id, ("conversation", conversation))

    status, body = call_send(
        {"content": "On its way"},
        tenant_id=tenant_a.tenant_id,
        event_file="conversation-send-seed-path.json",
        conversation_id=conversation,
    )

    assert status == 201, body
    frames = management_api(watcher)
    assert [(f["event"], f["message"]["status"]) for f in frames] == [("created", "pending"), ("status", "sent")]
    assert {f["message"]["id"] for f in frames} == {body["message"]["id"]}
    assert frames[0]["message"]["direction"] == "outbound" and frames[0]["message"]["content"] == "On its way"
    assert management_api(bystander) == []


def test_meta_closing_the_window_pushes_the_failure_and_the_window(admin, management_api, fake_graph, tenant_a):
    conversation = customer_wrote(tenant_a, phone=PHONE_B, ago=timedelta(hours=1))
    watcher = subscribe(admin, tenant_a.tenant_id, ("conversation", conversation))
    fake_graph.script(meta_error(131047, "Re-engagement message"))

    status, _ = call_send(
        {"content": "Still there?"},
        tenant_id=tenant_a.tenant_id,
        event_file="conversation-send-seed-path.json",
        conversation_id=conversation,
    )

    assert status == 400
    frames = management_api(watcher)
    assert [f["type"] for f in frames] == ["conversation_message", "conversation_message", "conversation_window"]
    failed = frames[1]
    assert failed["event"] == "status" and failed["message"]["status"] == "failed"
    assert failed["message"]["error"] == {"code": 131047, "title": "Re-engagement message"}
    assert frames[2]["conversationId"] == conversation and frames[2]["windowStatus"] == "expired"


def test_a_window_expiry_reaches_its_own_conversations_subscribers_not_the_contacts_other_conversations(
    admin, management_api, tenant_a, tenant_b
):
    one = customer_wrote(tenant_a, phone=PHONE_A, ago=timedelta(hours=25), conversation="chat_w1")
    two = ingest(tenant_a, "chat_w2", ("w2", at(1)), phone=PHONE_A)["conversation_id"]
    contact = admin.execute("SELECT contact_id FROM conversations WHERE id = %s", (one,)).fetchone()[0]  # type: ignore[index]
    watches_one = subscribe(admin, tenant_a.tenant_id, ("conversation", one))
    watches_two = subscribe(admin, tenant_a.tenant_id, ("conversation", two))
    intruder = subscribe(admin, tenant_b.tenant_id, ("conversation", one))
    expired_at = datetime(2026, 2, 2, 10, 30, tzinfo=UTC)

    publish_window_expiries(tenant_a.tenant_id, [ExpiredWindow(one, contact, expired_at)])

    assert management_api(watches_one) == [
        {
            "type": "conversation_window",
            "conversationId": one,
            "contactId": str(contact),
            "windowStatus": "expired",
            "windowExpiresAt": "2026-02-02T10:30:00.000Z",
            "seq": None,  # published directly: the expiry job, which appends window.closed, did not run
        }
    ]
    assert management_api(watches_two) == []  # the same customer's other conversation keeps its own window
    assert management_api(intruder) == []


def test_many_subscribers_each_get_every_frame_in_order(admin, management_api, tenant_a):
    from threadline.realtime.frames import ConversationEvent

    first = ingest(tenant_a, "chat_crowd", ("c1", at(1)))
    conversation_id = first["conversation_id"]
    crowd = [subscribe(admin, tenant_a.tenant_id, ("conversation", conversation_id)) for _ in range(20)]
    events = [
        ConversationEvent(conversation_id, ConversationResyncFrame(conversationId=conversation_id, messagesAdded=n))
        for n in range(5)
    ]

    publish_conversation_events(tenant_a.tenant_id, events)

    for connection_id in crowd:
        assert [f["messagesAdded"] for f in management_api(connection_id)] == [0, 1, 2, 3, 4]


def test_a_publish_that_breaks_inside_returns_quietly(admin, management_api, tenant_a):
    watcher = subscribe(admin, tenant_a.tenant_id, ("session", "wses_broken"))

    # A frame that will not encode (built without validation, as no builder would).
    unencodable = SessionFrameMessage.model_construct(
        id="1", role="user", content="x", metadata={"x": object()}, createdAt=datetime.now(UTC)
    )
    publish_session_message(tenant_a.tenant_id, "wses_broken", unencodable)
    publish_conversation_events(tenant_a.tenant_id, [object()])  # type: ignore[list-item]

    assert management_api(watcher) == []


def test_messages_named_by_id_reach_their_conversations_subscribers(admin, management_api, tenant_a, tenant_b):
    one = ingest(tenant_a, "chat_ids_1", ("i1", at(1)), ("i2", at(2)))["conversation_id"]
    two = ingest(tenant_a, "chat_ids_2", ("j1", at(1)), phone=PHONE_B)["conversation_id"]
    theirs = ingest(tenant_b, "chat_ids_b", ("k1", at(1)))["conversation_id"]
    watcher = subscribe(admin, tenant_a.tenant_id, ("conversation", one))
    intruder = subscribe(admin, tenant_b.tenant_id, ("conversation", one), ("conversation", theirs))
    ids = dict(
        admin.execute("SELECT external_id, id FROM messages WHERE conversation_id = ANY(%s)", ([one, two, theirs],))
    )

    # A webhook's status update for three messages, one of them (wrongly) another tenant's: it is not found.
    publish_stored_messages(tenant_a.tenant_id, "status", [ids["i2"], ids["i1"], ids["j1"], ids["k1"]])

    frames = management_api(watcher)
    assert [(f["event"], f["message"]["externalId"]) for f in frames] == [("status", "i1"), ("status", "i2")]
    assert management_api(intruder) == []


# ---------------------------------------------------------------------------------------------------------------
# Every frame type
# ---------------------------------------------------------------------------------------------------------------


def test_every_frame_type_is_sent_by_real_writes_and_is_what_its_model_says(make_connector, admin, management_api):
    """The fixtures hold every frame they capture to its model (tests/support/contracts.py); this makes sure each model of
    the union is among what a real connection is sent: its answers, and what the writes push to it."""
    from tests.integration.test_websocket_routes import connect, send_frame
    from tests.support.sessions import capture, make_session

    inbox = make_inbox(make_connector, admin, "Ana")
    chat = "chat_every_frame"
    conversation_id = customer_writes(inbox, chat)
    session = make_session(admin, inbox.tenant_id)
    connection_id, connected = connect(inbox.tenant_id)
    assert connected["statusCode"] == 200
    topics = [
        {"conversation_id": conversation_id},
        {"session_uuid": session.public_id},
    ]
    answers = [
        send_frame(connection_id, {"action": "subscribe_conversation", **topics[0]}),
        send_frame(connection_id, {"action": "subscribe_session", **topics[1]}),
        send_frame(connection_id, {"action": "subscribe_inbox"}),
        send_frame(connection_id, {"action": "subscribe_conversation", "conversation_id": 9_000_000_000}),
    ]

    # A captured session message; an agent's assignment (its activity message, the conversation's and the inbox
    # feed's frames, the counts); a connector's backfill; the window closing.
    assert capture("user", session, {"message": "hello", "metadata": {"deviceType": "iOS"}})[0] == 200
    assert patch(conversation_id, {"assignee_id": str(inbox.agents["Ana"])}, claims=inbox.claims("Ana")).status == 200
    now = datetime.now(UTC)
    backfill = [message(f"b{n}", (now - timedelta(minutes=n)).isoformat()) for n in range(30)]
    phone = admin.execute(
        "SELECT k.identifier FROM contacts k JOIN conversations v ON v.contact_id = k.id WHERE v.id = %s",
        (conversation_id,),
    ).fetchone()[0]  # type: ignore[index]
    status, body = call_ingest(
        batch(inbox.connector, conversation(chat, phone, *backfill)), api_key=inbox.connector.api_secret
    )
    assert status == 200 and body["results"][0]["messages_added"] == 30, body
    close_window_and_run_the_expiry_job(admin, conversation_id, announce=True)
    # A customer's reaction on the first message (stored as the WhatsApp notification's repository stores it).
    reacted_id, contact_id = admin.execute(
        "SELECT m.id, v.contact_id FROM messages m JOIN conversations v ON v.id = m.conversation_id"
        " WHERE m.conversation_id = %s ORDER BY m.id LIMIT 1",
        (conversation_id,),
    ).fetchone()  # type: ignore[misc]
    admin.execute(
        "INSERT INTO message_reactions (tenant_id, message_id, conversation_id, side, emoji, contact_id, reacted_at)"
        " VALUES (%s, %s, %s, 'customer', '👍', %s, now())",
        (inbox.tenant_id, reacted_id, conversation_id, contact_id),
    )
    publish_reactions(inbox.tenant_id, [reacted_id])

    answers += [send_frame(connection_id, {"action": "unsubscribe", **topic}) for topic in topics]
    answers.append(send_frame(connection_id, {"action": "unsubscribe_inbox"}))
    sent = [*answers, *management_api(connection_id)]
    assert {type(checked_frame(frame)) for frame in sent} == set(SERVER_FRAMES)
