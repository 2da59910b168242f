"""End to end through the local gateway, as `make dev` serves it: a real WebSocket client connects to the WebSocket
API, subscribes, and receives the frames that real HTTP calls (ingest, send) produce; tenants never hear each other."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
import requests
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from devtools.auth import issue_token
from devtools.gateway import LocalGateway
from tests.support.contracts import checked_frame
from tests.support.send import WhatsAppTenant, make_whatsapp_tenant
from threadline.models.frames import SessionFrameMessage
from threadline.realtime.publisher import publish_session_message

FRAME_TIMEOUT_SECONDS = 10
# How long to listen before concluding that a frame is not coming (frames are posted before the HTTP call returns).
SILENCE_SECONDS = 0.5


@pytest.fixture
def tenant_a(admin: psycopg.Connection[Any]) -> WhatsAppTenant:
    return make_whatsapp_tenant(admin)


@pytest.fixture
def tenant_b(admin: psycopg.Connection[Any]) -> WhatsAppTenant:
    return make_whatsapp_tenant(admin)


def token_for(tenant: WhatsAppTenant | str) -> str:
    tenant_id = tenant if isinstance(tenant, str) else str(tenant.tenant_id)
    return issue_token(tenant_id=tenant_id, user_id=f"agent-{uuid.uuid4().hex[:6]}")


@contextmanager
def subscriber(gateway: LocalGateway, tenant: WhatsAppTenant, *, in_header: bool = False) -> Iterator[ClientConnection]:
    assert gateway.websocket_url is not None
    token = token_for(tenant)
    if in_header:
        socket = connect(gateway.websocket_url, additional_headers={"Authorization": f"Bearer {token}"})
    else:
        socket = connect(f"{gateway.websocket_url}/?token={token}")
    with socket:
        yield socket


def ask(socket: ClientConnection, frame: dict[str, Any]) -> dict[str, Any]:
    socket.send(json.dumps(frame))
    return next_frame(socket)


def next_frame(socket: ClientConnection) -> dict[str, Any]:
    """The next frame the server sent, held to its model (tests/support/contracts.py)."""
    frame = json.loads(socket.recv(timeout=FRAME_TIMEOUT_SECONDS))
    checked_frame(frame)
    return frame


def assert_silent(socket: ClientConnection) -> None:
    with pytest.raises(TimeoutError):
        socket.recv(timeout=SILENCE_SECONDS)


def http_ingest(gateway: LocalGateway, tenant: WhatsAppTenant, conversation: str, *messages: str) -> dict[str, Any]:
    sent_at = datetime.now(UTC) - timedelta(minutes=5)
    response = requests.post(
        f"{gateway.base_url}/v1/ingest",
        headers={"x-api-key": tenant.api_secret},
        json={
            "platform": "whatsapp",
            "connection_id": tenant.connection_id,
            "conversations": [
                {
                    "external_conversation_id": conversation,
                    "participant_identifier": "+447700900123",
                    "participant_name": "Jane Customer",
                    "messages": [
                        {
                            "id": message_id,
                            "direction": "inbound",
                            "type": "text",
                            "content": f"text of {message_id}",
                            "sent_at": (sent_at + timedelta(seconds=n)).isoformat(),
                        }
                        for n, message_id in enumerate(messages)
                    ],
                }
            ],
        },
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()["results"][0]


def registered_connections(admin: psycopg.Connection[Any], tenant: WhatsAppTenant) -> int:
    row = admin.execute(
        "SELECT count(*) FROM websocket_connections WHERE tenant_id = %s", (tenant.tenant_id,)
    ).fetchone()
    assert row is not None
    return int(row[0])


# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("presented", "status"),
    [("", 401), ("?token=not.a.jwt", 401), ("?token={expired}", 401), ("?token={no_tenant}", 403)],
)
def test_connecting_takes_a_valid_bearer_token(gateway, admin, presented, status):
    assert gateway.websocket_url is not None
    url = (
        gateway.websocket_url
        + "/"
        + presented.format(
            expired=issue_token(tenant_id=str(uuid.uuid4()), ttl_seconds=-10),
            no_tenant=issue_token(tenant_id="not-a-uuid"),
        )
    )

    with pytest.raises(InvalidStatus) as refused:
        connect(url)

    assert refused.value.response.status_code == status


@pytest.mark.parametrize("in_header", [False, True])
def test_a_token_in_the_query_or_the_authorization_header_registers_the_connection(gateway, admin, tenant_a, in_header):
    with subscriber(gateway, tenant_a, in_header=in_header):
        assert registered_connections(admin, tenant_a) == 1

    deadline = time.monotonic() + FRAME_TIMEOUT_SECONDS
    while registered_connections(admin, tenant_a) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert registered_connections(admin, tenant_a) == 0, "closing the socket is $disconnect"


def test_an_http_ingest_reaches_the_conversations_subscriber_and_no_other_tenant(live, tenant_a, tenant_b):
    first = http_ingest(live, tenant_a, "chat_live", "m1")
    theirs = http_ingest(live, tenant_b, "chat_theirs", "t1")
    with subscriber(live, tenant_a) as watcher, subscriber(live, tenant_b) as other:
        assert ask(watcher, {"action": "subscribe_conversation", "conversation_id": first["conversation_id"]}) == {
            "type": "subscribed",
            "topic": "conversation",
            "conversationId": first["conversation_id"],
        }
        refused = ask(other, {"action": "subscribe_conversation", "conversation_id": first["conversation_id"]})
        assert refused == {"type": "error", "error": "Conversation not found", "action": "subscribe_conversation"}
        assert ask(other, {"action": "subscribe_conversation", "conversation_id": theirs["conversation_id"]})[
            "type"
        ] == ("subscribed")

        http_ingest(live, tenant_a, "chat_live", "m1", "m2")

        frame = next_frame(watcher)
        assert frame["type"] == "conversation_message" and frame["event"] == "created"
        assert frame["conversationId"] == first["conversation_id"]
        assert frame["message"]["externalId"] == "m2" and frame["message"]["content"] == "text of m2"
        assert_silent(watcher)  # m1 was already stored: it is not pushed again
        assert_silent(other)


def test_an_http_send_pushes_the_pending_message_and_then_its_status(live, fake_graph, tenant_a):
    conversation = http_ingest(live, tenant_a, "chat_send", "hello")["conversation_id"]
    with subscriber(live, tenant_a) as watcher:
        ask(watcher, {"action": "subscribe_conversation", "conversation_id": conversation})

        response = requests.post(
            f"{live.base_url}/api/v1/conversations/{conversation}/messages",
            headers={"Authorization": f"Bearer {token_for(tenant_a)}"},
            json={"content": "Your order ships today"},
            timeout=30,
        )

        assert response.status_code == 201, response.text
        created, status = next_frame(watcher), next_frame(watcher)
        assert (created["event"], created["message"]["status"]) == ("created", "pending")
        assert (status["event"], status["message"]["status"]) == ("status", "sent")
        assert created["message"]["id"] == status["message"]["id"] == response.json()["message"]["id"]
        assert status["message"]["content"] == "Your order ships today"
        assert status["message"]["direction"] == "outbound"


def http_session(gateway: LocalGateway, tenant: WhatsAppTenant) -> tuple[str, str, str]:
    """A workspace and a chat session made through the HTTP API: (workspace id, session id, token)."""
    token = token_for(tenant)
    headers = {"Authorization": f"Bearer {token}"}
    workspace = requests.post(
        f"{gateway.base_url}/v1/workspaces", headers=headers, json={"name": "Support"}, timeout=30
    )
    assert workspace.status_code == 201, workspace.text
    workspace_id = workspace.json()["workspace"]["id"]
    session = requests.post(
        f"{gateway.base_url}/v1/workspaces/{workspace_id}/sessions", headers=headers, json={}, timeout=30
    )
    assert session.status_code == 201, session.text
    return workspace_id, session.json()["session"]["id"], token


def test_an_http_capture_reaches_the_sessions_subscriber_and_no_other_tenant(live, tenant_a, tenant_b):
    workspace_id, session_id, token = http_session(live, tenant_a)
    _, their_session, _ = http_session(live, tenant_b)
    with subscriber(live, tenant_a) as watcher, subscriber(live, tenant_b) as other:
        assert ask(watcher, {"action": "subscribe_session", "session_uuid": session_id}) == {
            "type": "subscribed",
            "topic": "session",
            "sessionUuid": session_id,
        }
        refused = ask(other, {"action": "subscribe_session", "session_uuid": session_id})
        assert refused == {"type": "error", "error": "Session not found", "action": "subscribe_session"}
        assert ask(other, {"action": "subscribe_session", "session_uuid": their_session})["type"] == "subscribed"

        response = requests.post(
            f"{live.base_url}/api/workspace/{workspace_id}/session/{session_id}/message/assistant",
            headers={"Authorization": f"Bearer {token}"},
            json={"message": "Your task has been completed successfully!", "metadata": {"source": "scheduler"}},
            timeout=30,
        )

        assert response.status_code == 200, response.text
        frame = next_frame(watcher)
        assert frame["type"] == "session_message" and frame["sessionUuid"] == session_id
        assert frame["message"]["role"] == "assistant"
        assert frame["message"]["content"] == "Your task has been completed successfully!"
        assert frame["message"]["id"] == str(response.json()["message"]["id"])
        assert_silent(other)


def test_a_published_session_message_reaches_that_tenants_subscribers_only(live, tenant_a, tenant_b):
    _, session_id, _ = http_session(live, tenant_a)
    _, their_session, _ = http_session(live, tenant_b)
    with subscriber(live, tenant_a) as watcher, subscriber(live, tenant_b) as other:
        ask(watcher, {"action": "subscribe_session", "session_uuid": session_id})
        ask(other, {"action": "subscribe_session", "session_uuid": their_session})

        at = datetime(2026, 2, 1, 10, 30, tzinfo=UTC)
        done = SessionFrameMessage(id="1", role="assistant", content="Done", metadata={}, createdAt=at)
        publish_session_message(tenant_a.tenant_id, session_id, done)
        publish_session_message(tenant_b.tenant_id, session_id, done.model_copy(update={"id": "2", "content": "No"}))

        assert next_frame(watcher) == {
            "type": "session_message",
            "sessionUuid": session_id,
            "message": {
                "id": "1",
                "role": "assistant",
                "content": "Done",
                "metadata": {},
                "createdAt": "2026-02-01T10:30:00.000Z",
            },
            "seq": None,  # published by hand: no event of the log shows it
        }
        assert_silent(watcher)
        assert_silent(other)


def test_unknown_actions_are_routed_to_default_and_answered_with_an_error(gateway, tenant_a):
    with subscriber(gateway, tenant_a) as socket:
        frame = ask(socket, {"action": "subscribe_everything"})
        assert frame["type"] == "error" and frame["error"].startswith("Unknown action 'subscribe_everything'")
        socket.send("plain text")
        assert next_frame(socket)["error"] == 'Frames must be JSON objects with an "action" (or a "type")'


def seed_client_messages(socket: ClientConnection, count: int) -> list[dict[str, Any]]:
    """What the session API's frontend does with what it receives (origin: the workspace-session-message-api seed):
    parse each frame, keep `data.message` where `data.type === 'session_message'`, ignore everything else."""
    messages: list[dict[str, Any]] = []
    while len(messages) < count:
        data = next_frame(socket)
        if data["type"] == "session_message":
            messages.append(data["message"])
    return messages


@pytest.mark.parametrize("named_by", ["id", "uuid"])
def test_the_session_apis_frontend_subscribes_with_its_own_frame_and_receives_each_capture(
    live, admin, tenant_a, tenant_b, named_by
):
    workspace_id, session_id, token = http_session(live, tenant_a)
    stored = admin.execute("SELECT uuid::text FROM workspace_sessions WHERE public_id = %s", (session_id,)).fetchone()
    session_ref = session_id if named_by == "id" else stored[0]
    _, their_session, _ = http_session(live, tenant_b)
    capture = f"{live.base_url}/api/workspace/{workspace_id}/session/{session_id}/message"
    with subscriber(live, tenant_a) as ws, subscriber(live, tenant_b) as other:
        # Exactly the frame the seed's frontend sends: no `action`, so API Gateway routes it to $default.
        ws.send(json.dumps({"type": "subscribe_session", "sessionId": session_ref}))
        other.send(json.dumps({"type": "subscribe_session", "sessionId": their_session}))
        assert next_frame(other)["type"] == "subscribed"

        sent = [
            requests.post(
                f"{capture}/user",
                headers={"Authorization": f"Bearer {token}"},
                json={
                    "message": "User logged in from mobile app",
                    "channel": "mobile",
                    "metadata": {"deviceType": "iOS", "appVersion": "2.1.0"},
                },
                timeout=30,
            ),
            requests.post(
                f"{capture}/assistant",
                headers={"Authorization": f"Bearer {token}"},
                json={"message": "Your task has been completed successfully!"},
                timeout=30,
            ),
        ]

        assert [response.status_code for response in sent] == [200, 200], [response.text for response in sent]
        user, assistant = seed_client_messages(ws, 2)
        assert user["id"] == str(sent[0].json()["userMessage"]["id"]) and assistant["id"] == str(
            sent[1].json()["message"]["id"]
        )
        assert (user["role"], user["content"]) == ("user", "User logged in from mobile app")
        assert user["metadata"] == {"deviceType": "iOS", "appVersion": "2.1.0"}
        assert (assistant["role"], assistant["metadata"]) == ("assistant", {})
        assert user["createdAt"] == sent[0].json()["userMessage"]["createdAt"]
        assert list(user)[:5] == ["id", "role", "content", "metadata", "createdAt"]
        assert_silent(other)

        ws.send(json.dumps({"type": "unsubscribe_session", "sessionId": session_id}))
        assert next_frame(ws) == {"type": "unsubscribed", "topic": "session", "sessionUuid": session_id}
        requests.post(
            f"{capture}/assistant", headers={"Authorization": f"Bearer {token}"}, json={"message": "x"}, timeout=30
        )
        assert_silent(ws)


def test_type_frames_subscribe_to_conversations_and_refuse_what_is_not_the_tenants(live, tenant_a, tenant_b):
    conversation = http_ingest(live, tenant_a, "chat_typed", "m1")["conversation_id"]
    with subscriber(live, tenant_a) as watcher, subscriber(live, tenant_b) as other:
        assert ask(watcher, {"type": "subscribe_conversation", "conversationId": conversation}) == {
            "type": "subscribed",
            "topic": "conversation",
            "conversationId": conversation,
        }
        assert ask(other, {"type": "subscribe_conversation", "conversationId": conversation}) == {
            "type": "error",
            "error": "Conversation not found",
            "action": "subscribe_conversation",
        }
        assert ask(other, {"type": "subscribe_session", "sessionId": "wses_not_theirs"})["error"] == (
            "Session not found"
        )

        http_ingest(live, tenant_a, "chat_typed", "m1", "m2")
        frame = next_frame(watcher)
        assert (frame["type"], frame["conversationId"], frame["message"]["externalId"]) == (
            "conversation_message",
            conversation,
            "m2",
        )

        assert ask(watcher, {"type": "unsubscribe_conversation", "conversationId": conversation})["type"] == (
            "unsubscribed"
        )
        http_ingest(live, tenant_a, "chat_typed", "m1", "m2", "m3")
        assert_silent(watcher)
        assert_silent(other)


def test_the_management_api_posts_describes_and_closes_connections_and_answers_410_for_gone_ones(live, admin, tenant_a):
    with subscriber(live, tenant_a) as socket:
        (connection_id,) = [
            row[0]
            for row in admin.execute(
                "SELECT connection_id FROM websocket_connections WHERE tenant_id = %s", (tenant_a.tenant_id,)
            )
        ]
        management = f"{live.base_url}/@connections/{connection_id}"

        assert requests.post(management, data=b'{"hello":1}', timeout=10).status_code == 200
        # The gateway's own behaviour: it relays whatever is posted (no Threadline frame, so no model to check).
        assert json.loads(socket.recv(timeout=FRAME_TIMEOUT_SECONDS)) == {"hello": 1}
        described = requests.get(management, timeout=10).json()
        assert set(described) == {"ConnectedAt", "Identity", "LastActiveAt"}
        assert requests.delete(management, timeout=10).status_code == 204
        with pytest.raises(ConnectionClosed):
            socket.recv(timeout=FRAME_TIMEOUT_SECONDS)

    gone = requests.post(management, data=b"{}", timeout=10)
    assert gone.status_code == 410 and gone.headers["x-amzn-ErrorType"] == "GoneException"
    assert requests.post(f"{live.base_url}/dev/@connections/nobody=", data=b"{}", timeout=10).status_code == 410


def test_metas_webhook_pushes_inbound_messages_and_status_updates(live, fake_graph, tenant_a, monkeypatch):
    from tests.support.meta_payloads import change, contact, notification, status, text_message
    from threadline.meta.config import get_meta_settings
    from threadline.meta.webhook import signature_for

    monkeypatch.setenv("META_APP_SECRET", "e2e-app-secret")
    get_meta_settings.cache_clear()
    conversation = http_ingest(live, tenant_a, "chat_webhook", "hello")["conversation_id"]
    sent = requests.post(
        f"{live.base_url}/api/v1/conversations/{conversation}/messages",
        headers={"Authorization": f"Bearer {token_for(tenant_a)}"},
        json={"content": "On its way"},
        timeout=30,
    ).json()["message"]

    def deliver(payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        response = requests.post(
            f"{live.base_url}/v1/webhooks/whatsapp",
            data=body,
            headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature_for(body, "e2e-app-secret")},
            timeout=30,
        )
        assert response.status_code == 200, response.text

    with subscriber(live, tenant_a) as watcher:
        ask(watcher, {"action": "subscribe_conversation", "conversation_id": conversation})

        reply = text_message("wamid.E2E-INBOUND", "Thanks!", sender="447700900123")
        deliver(
            notification(change(tenant_a.phone_number_id, contacts=[contact(wa_id="447700900123")], messages=[reply]))
        )
        created = next_frame(watcher)
        assert (created["event"], created["conversationId"]) == ("created", conversation)
        assert created["message"]["content"] == "Thanks!" and created["message"]["direction"] == "inbound"

        deliver(notification(change(tenant_a.phone_number_id, statuses=[status(sent["meta_id"], "read")])))
        moved = next_frame(watcher)
        assert (moved["event"], moved["message"]["id"], moved["message"]["status"]) == ("status", sent["id"], "read")
    get_meta_settings.cache_clear()


def test_a_closed_window_is_pushed_to_the_conversations_subscriber_once(live, admin, tenant_a):
    from threadline.domain.replies.expiry import expire_closed_windows

    conversation = http_ingest(live, tenant_a, "chat_window", "hello")["conversation_id"]
    expire_closed_windows()  # caught up: only this test's window is new
    with subscriber(live, tenant_a) as watcher:
        ask(watcher, {"action": "subscribe_conversation", "conversation_id": conversation})
        # Time passes: the window closes after the job's last run (and beyond its settling minute).
        admin.execute(
            "UPDATE conversations v SET window_expires_at = p.expired_through + (now() - interval '1 minute'"
            " - p.expired_through) / 2 FROM window_expiry_progress p WHERE v.id = %s",
            (conversation,),
        )

        assert expire_closed_windows().windows_expired == 1
        frame = next_frame(watcher)
        assert (frame["type"], frame["conversationId"], frame["windowStatus"]) == (
            "conversation_window",
            conversation,
            "expired",
        )
        expire_closed_windows()
        assert_silent(watcher)
