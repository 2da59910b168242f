"""The WebSocket API's routes through the real handler, with API Gateway's WebSocket events (events/websocket-*.json):
the connection registry, subscriptions under the connection's own tenant, and every refusal as an error frame."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from devtools.lambda_runtime import LocalLambdaContext, load_handler
from devtools.template import load_template
from tests.support.contracts import checked_frame
from tests.support.paths import load_event
from tests.support.send import WhatsAppTenant, customer_wrote, make_whatsapp_tenant
from threadline.domain.live import MAX_SUBSCRIPTIONS_PER_CONNECTION


def websocket_handler() -> Any:
    return load_handler(load_template().functions["WebSocketFunction"])


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    return websocket_handler()(event, LocalLambdaContext(function_name="WebSocketFunction"))


def connect(tenant_id: uuid.UUID | str | None, user_id: str = "agent-1") -> tuple[str, dict[str, Any]]:
    event = load_event("websocket-connect.json")
    connection_id = f"{uuid.uuid4().hex[:14]}="
    event["requestContext"]["connectionId"] = connection_id
    authorizer = event["requestContext"]["authorizer"]
    authorizer.update({"principalId": user_id, "userId": user_id})
    if tenant_id is None:
        del authorizer["tenantId"]
    else:
        authorizer["tenantId"] = str(tenant_id)
    return connection_id, invoke(event)


def send_frame(connection_id: str, body: Any, event_file: str = "websocket-default.json") -> dict[str, Any]:
    """A client frame on `connection_id`, answered with the route response's frame."""
    event = copy.deepcopy(load_event(event_file))
    event["requestContext"]["connectionId"] = connection_id
    event["body"] = body if isinstance(body, str) else json.dumps(body)
    response = invoke(event)
    assert response["statusCode"] == 200
    frame = json.loads(response["body"])
    checked_frame(frame)
    return frame


def subscriptions(admin: psycopg.Connection[Any], connection_id: str) -> list[tuple[str, str, str]]:
    rows = admin.execute(
        "SELECT tenant_id::text, topic, topic_id FROM websocket_subscriptions WHERE connection_id = %s ORDER BY 2, 3",
        (connection_id,),
    ).fetchall()
    return [(row[0], row[1], row[2]) for row in rows]


def make_sessions(admin: psycopg.Connection[Any], tenant_id: uuid.UUID, count: int = 1) -> list[tuple[str, str]]:
    """Chat sessions of a workspace (migration 0006's tables, arranged as the owner): their (public id, uuid)."""
    rows = admin.execute(
        """
        WITH workspace AS (
            INSERT INTO workspaces (tenant_id, name) VALUES (%(tenant)s, 'Support') RETURNING id
        ),
        session_conversations AS (
            INSERT INTO conversations (tenant_id, platform, external_conversation_id)
            SELECT %(tenant)s, 'workspace', 'wses_' || replace(gen_random_uuid()::text, '-', '')
            FROM generate_series(1, %(count)s)
            RETURNING id, external_conversation_id
        )
        INSERT INTO workspace_sessions (tenant_id, public_id, workspace_id, conversation_id)
        SELECT %(tenant)s, c.external_conversation_id, w.id, c.id FROM session_conversations c, workspace w
        RETURNING public_id, uuid::text
        """,
        {"tenant": tenant_id, "count": count},
    ).fetchall()
    return [(row[0], row[1]) for row in rows]


@pytest.fixture
def tenant(admin: psycopg.Connection[Any]) -> WhatsAppTenant:
    return make_whatsapp_tenant(admin)


@pytest.fixture
def other_tenant(admin: psycopg.Connection[Any]) -> WhatsAppTenant:
    return make_whatsapp_tenant(admin)


def test_connect_registers_the_connection_with_the_authorizers_tenant_and_user(admin, tenant):
    connection_id, response = connect(tenant.tenant_id, user_id="agent-42")

    assert response == {"statusCode": 200}
    row = admin.execute(
        "SELECT tenant_id, user_id, expires_at - connected_at FROM websocket_connections WHERE connection_id = %s",
        (connection_id,),
    ).fetchone()
    assert row == (tenant.tenant_id, "agent-42", timedelta(hours=2))


@pytest.mark.parametrize("tenant_value", [None, "not-a-uuid"])
def test_connect_without_a_valid_tenant_is_refused_and_stores_nothing(admin, tenant_value):
    connection_id, response = connect(tenant_value)

    assert response == {"statusCode": 403}
    assert admin.execute(
        "SELECT count(*) FROM websocket_connections WHERE connection_id = %s", (connection_id,)
    ).fetchone() == (0,)


def test_connect_clears_the_tenants_connections_that_outlived_api_gateways_two_hours(admin, tenant, other_tenant):
    stale, _ = connect(tenant.tenant_id)
    others_stale, _ = connect(other_tenant.tenant_id)
    admin.execute("UPDATE websocket_connections SET expires_at = now() - interval '1 minute'")

    connect(tenant.tenant_id)

    remaining = {row[0] for row in admin.execute("SELECT connection_id FROM websocket_connections")}
    assert stale not in remaining
    assert others_stale in remaining, "another tenant's rows are not this transaction's to touch"


def test_subscribing_to_an_own_conversation_is_acknowledged_and_stored_under_the_connections_tenant(admin, tenant):
    conversation = customer_wrote(tenant, phone="+447700900123", ago=timedelta(minutes=1))
    connection_id, _ = connect(tenant.tenant_id)

    frame = send_frame(
        connection_id,
        {"action": "subscribe_conversation", "conversation_id": conversation},
        "websocket-subscribe-conversation.json",
    )

    assert frame == {"type": "subscribed", "topic": "conversation", "conversationId": conversation}
    assert subscriptions(admin, connection_id) == [(str(tenant.tenant_id), "conversation", str(conversation))]
    # Subscribing twice is fine and stores nothing more.
    assert send_frame(connection_id, {"action": "subscribe_conversation", "conversation_id": conversation}) == frame
    assert len(subscriptions(admin, connection_id)) == 1


def test_another_tenants_conversation_is_answered_as_not_found(admin, tenant, other_tenant):
    theirs = customer_wrote(other_tenant, phone="+447700900999", ago=timedelta(minutes=1))
    connection_id, _ = connect(tenant.tenant_id)

    frame = send_frame(connection_id, {"action": "subscribe_conversation", "conversation_id": theirs})
    missing = send_frame(connection_id, {"action": "subscribe_conversation", "conversation_id": 9_000_000_000})

    assert frame == {"type": "error", "error": "Conversation not found", "action": "subscribe_conversation"}
    assert missing == frame, "another tenant's conversation and a missing one look the same"
    assert subscriptions(admin, connection_id) == []


@pytest.mark.parametrize(
    ("subscribe", "unsubscribe", "event_file"),
    [
        ({"action": "subscribe_inbox"}, {"action": "unsubscribe_inbox"}, "websocket-subscribe-inbox.json"),
        ({"type": "subscribe_inbox"}, {"type": "unsubscribe_inbox"}, "websocket-default.json"),
    ],
)
def test_the_inbox_feed_is_subscribed_in_either_spelling_under_the_connections_tenant(
    admin, tenant, subscribe, unsubscribe, event_file
):
    connection_id, _ = connect(tenant.tenant_id)

    assert send_frame(connection_id, subscribe, event_file) == {"type": "subscribed", "topic": "inbox"}
    assert subscriptions(admin, connection_id) == [(str(tenant.tenant_id), "inbox", "tenant")]
    assert send_frame(connection_id, unsubscribe) == {"type": "unsubscribed", "topic": "inbox"}
    assert subscriptions(admin, connection_id) == []


def test_sessions_are_subscribed_by_id_and_unsubscribed(admin, tenant):
    connection_id, _ = connect(tenant.tenant_id)
    ((session, _),) = make_sessions(admin, tenant.tenant_id)

    subscribed = send_frame(
        connection_id, {"action": "subscribe_session", "session_uuid": session}, "websocket-subscribe-session.json"
    )
    assert subscribed == {"type": "subscribed", "topic": "session", "sessionUuid": session}
    assert subscriptions(admin, connection_id) == [(str(tenant.tenant_id), "session", session)]

    unsubscribed = send_frame(
        connection_id, {"action": "unsubscribe", "session_uuid": session}, "websocket-unsubscribe.json"
    )
    assert unsubscribed == {"type": "unsubscribed", "topic": "session", "sessionUuid": session}
    assert subscriptions(admin, connection_id) == []


@pytest.mark.parametrize(
    ("body", "error", "action"),
    [
        ("not json", 'Frames must be JSON objects with an "action" (or a "type")', None),
        ("[1, 2]", 'Frames must be JSON objects with an "action" (or a "type")', None),
        (
            {"action": "subscribe_everything"},
            "Unknown action 'subscribe_everything': use subscribe_session, subscribe_conversation, unsubscribe,"
            " unsubscribe_session, unsubscribe_conversation, subscribe_inbox, unsubscribe_inbox",
            None,
        ),
        ({"action": "subscribe_conversation"}, "conversation_id must be a positive integer", None),
        (
            {"action": "subscribe_conversation", "conversation_id": "12"},
            "conversation_id must be a positive integer",
            None,
        ),
        (
            {"action": "subscribe_conversation", "conversation_id": True},
            "conversation_id must be a positive integer",
            None,
        ),
        (
            {"action": "subscribe_conversation", "conversation_id": 0},
            "conversation_id must be a positive integer",
            None,
        ),
        (
            {"action": "subscribe_session", "session_uuid": ""},
            "session_uuid must be a session id of 1 to 200 printable characters",
            None,
        ),
        (
            {"action": "subscribe_session", "session_uuid": "x" * 201},
            "session_uuid must be a session id of 1 to 200 printable characters",
            None,
        ),
        (
            {"action": "unsubscribe", "conversation_id": 1, "session_uuid": "wses_1"},
            "unsubscribe takes exactly one of conversation_id and session_uuid",
            None,
        ),
        ({"action": "unsubscribe"}, "unsubscribe takes exactly one of conversation_id and session_uuid", None),
    ],
)
def test_bad_frames_get_an_error_frame_and_change_nothing(admin, tenant, body, error, action):
    connection_id, _ = connect(tenant.tenant_id)

    assert send_frame(connection_id, body) == {"type": "error", "error": error, "action": action}
    assert subscriptions(admin, connection_id) == []


def test_a_session_named_by_its_uuid_is_stored_under_its_id(admin, tenant):
    connection_id, _ = connect(tenant.tenant_id)
    ((session, session_uuid),) = make_sessions(admin, tenant.tenant_id)

    frame = send_frame(connection_id, {"action": "subscribe_session", "session_uuid": session_uuid})

    assert frame == {"type": "subscribed", "topic": "session", "sessionUuid": session}
    assert subscriptions(admin, connection_id) == [(str(tenant.tenant_id), "session", session)]


def test_another_tenants_session_is_answered_as_not_found(admin, tenant, other_tenant):
    ((theirs, their_uuid),) = make_sessions(admin, other_tenant.tenant_id)
    connection_id, _ = connect(tenant.tenant_id)

    for name in (theirs, their_uuid, "wses_00000000000000000000000000000000"):
        frame = send_frame(connection_id, {"action": "subscribe_session", "session_uuid": name})
        assert frame == {"type": "error", "error": "Session not found", "action": "subscribe_session"}
    assert subscriptions(admin, connection_id) == []


def test_a_connection_that_is_not_registered_is_told_to_reconnect(admin):
    frame = send_frame("never-connected=", {"action": "subscribe_session", "session_uuid": "wses_1"})

    assert frame == {
        "type": "error",
        "error": "This connection is not registered; reconnect",
        "action": "subscribe_session",
    }
    assert admin.execute(
        "SELECT count(*) FROM websocket_subscriptions WHERE connection_id = 'never-connected='"
    ).fetchone() == (0,)


def test_a_connection_holds_a_bounded_number_of_subscriptions(admin, tenant):
    connection_id, _ = connect(tenant.tenant_id)
    sessions = [
        public_id for public_id, _ in make_sessions(admin, tenant.tenant_id, MAX_SUBSCRIPTIONS_PER_CONNECTION + 1)
    ]
    for session in sessions[:-1]:
        assert (
            send_frame(connection_id, {"action": "subscribe_session", "session_uuid": session})["type"] == "subscribed"
        )

    refused = send_frame(connection_id, {"action": "subscribe_session", "session_uuid": sessions[-1]})
    again = send_frame(connection_id, {"action": "subscribe_session", "session_uuid": sessions[0]})

    assert refused["type"] == "error" and "at most 100 subscriptions" in refused["error"]
    assert again["type"] == "subscribed", "re-subscribing to what it holds is still fine"
    assert len(subscriptions(admin, connection_id)) == MAX_SUBSCRIPTIONS_PER_CONNECTION


def test_disconnect_forgets_the_connection_and_its_subscriptions(admin, tenant):
    connection_id, _ = connect(tenant.tenant_id)
    ((session, _),) = make_sessions(admin, tenant.tenant_id)
    assert send_frame(connection_id, {"action": "subscribe_session", "session_uuid": session})["type"] == "subscribed"
    event = load_event("websocket-disconnect.json")
    event["requestContext"]["connectionId"] = connection_id

    assert invoke(event) == {"statusCode": 200}
    assert admin.execute(
        "SELECT count(*) FROM websocket_connections WHERE connection_id = %s", (connection_id,)
    ).fetchone() == (0,)
    assert subscriptions(admin, connection_id) == []
    assert invoke(event) == {"statusCode": 200}, "a second $disconnect is harmless"
