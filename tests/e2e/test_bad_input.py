"""Faults and bad input the fuzzing did not reach, over real HTTP through the local gateway: each used to be a 500
(or, for a poisoned timestamp, a 500 on every later read of the tenant). Each is now a 400 in the route's own
envelope with nothing written, a 403 for a tenant that does not exist, or, for what is already stored, a 200."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import requests
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from devtools.auth import issue_token
from tests.e2e.test_websocket_gateway import ask, subscriber
from tests.support.database import table_counts
from tests.support.send import WhatsAppTenant, make_whatsapp_tenant
from threadline.meta.client import reset_meta_client
from threadline.meta.webhook import SIGNATURE_HEADER, signature_for
from threadline.models.validation import TOO_DEEP_MESSAGE

PHONE = "+15553217654"
APP_SECRET = "bad-input-app-secret"
DEEP = "[" * 5_000 + "]" * 5_000
DEEPER_THAN_ALLOWED = "[" * 250 + "]" * 250


@dataclass(frozen=True)
class Arranged:
    tenant: WhatsAppTenant
    token: str
    conversation_id: int
    workspace_id: str
    session_id: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "x-api-key": self.tenant.api_secret}


def _ingest(base_url: str, tenant: WhatsAppTenant, *, sent_at: str, phone: str = PHONE) -> requests.Response:
    return requests.post(
        f"{base_url}/v1/ingest",
        headers={"x-api-key": tenant.api_secret},
        json={
            "platform": "whatsapp",
            "connection_id": tenant.connection_id,
            "conversations": [
                {
                    "external_conversation_id": f"chat_{uuid.uuid4().hex[:8]}",
                    "participant_identifier": phone,
                    "messages": [
                        {"id": "m1", "direction": "inbound", "type": "text", "content": "hi", "sent_at": sent_at}
                    ],
                }
            ],
        },
        timeout=30,
    )


@pytest.fixture
def arranged(gateway, admin, fake_graph, fake_bedrock, monkeypatch) -> Arranged:
    monkeypatch.setenv("META_APP_SECRET", APP_SECRET)
    reset_meta_client()
    tenant = make_whatsapp_tenant(admin)
    token = issue_token(tenant_id=str(tenant.tenant_id))
    ingested = _ingest(gateway.base_url, tenant, sent_at=datetime.now(UTC).isoformat())
    assert ingested.status_code == 200, ingested.text
    auth = {"Authorization": f"Bearer {token}"}
    workspace = requests.post(f"{gateway.base_url}/v1/workspaces", headers=auth, json={"name": "W"}, timeout=30)
    workspace_id = workspace.json()["workspace"]["id"]
    session = requests.post(f"{gateway.base_url}/v1/workspaces/{workspace_id}/sessions", headers=auth, timeout=30)
    yield Arranged(
        tenant=tenant,
        token=token,
        conversation_id=ingested.json()["results"][0]["conversation_id"],
        workspace_id=workspace_id,
        session_id=session.json()["session"]["id"],
    )
    reset_meta_client()


# The body routes, each with a field that reaches its model (for a bad value inside a valid body).
ROUTES = {
    "ingest": ("/v1/ingest", "connection_id"),
    "send": ("/api/messages/send", "body"),
    "conversation send": ("/v1/conversations/{conversation_id}/messages", "content"),
    "workspace create": ("/v1/workspaces", "name"),
    "session create": ("/v1/workspaces/{workspace_id}/sessions", "title"),
    "capture": ("/api/workspace/{workspace_id}/session/{session_id}/message/user", "message"),
}


def _post(gateway, arranged: Arranged, route: str, body: str | bytes, **headers: str) -> requests.Response:
    path = ROUTES[route][0].format(**vars(arranged))
    return requests.post(
        f"{gateway.base_url}{path}",
        data=body.encode() if isinstance(body, str) else body,
        headers=arranged.auth | {"Content-Type": "application/json"} | headers,
        timeout=30,
    )


def _refused(answer: requests.Response, message: str) -> None:
    assert (answer.status_code, answer.json()) == (400, {"error": message}), answer.text


@pytest.mark.parametrize("route", sorted(ROUTES))
@pytest.mark.parametrize("where", ["body", "field"])
@pytest.mark.parametrize("depth", [DEEP, DEEPER_THAN_ALLOWED], ids=["5000-levels", "250-levels"])
def test_json_nested_too_deep_is_a_400_and_writes_nothing(gateway, admin, arranged, route, where, depth):
    before = table_counts(admin)
    body = depth if where == "body" else json.dumps({ROUTES[route][1]: "x"})[:-1] + f', "extra": {depth}}}'
    _refused(_post(gateway, arranged, route, body), TOO_DEEP_MESSAGE)
    assert table_counts(admin) == before


@pytest.mark.parametrize("route", sorted(ROUTES))
@pytest.mark.parametrize(
    ("escape", "problem"),
    [
        ("\\ud800", "must not contain unpaired UTF-16 surrogates"),
        ("\\udc00", "must not contain unpaired UTF-16 surrogates"),
        ("\\u0000", "must not contain NUL characters"),
    ],
    ids=["lone-high-surrogate", "lone-low-surrogate", "nul"],
)
def test_unstorable_text_in_any_field_is_a_400_naming_it(gateway, admin, arranged, route, escape, problem):
    before = table_counts(admin)
    field = ROUTES[route][1]
    _refused(_post(gateway, arranged, route, f'{{"{field}": "a{escape}b"}}'), f"{field}: {problem}")
    assert table_counts(admin) == before


def test_a_nul_deep_in_an_ingest_batch_is_named_by_its_place(gateway, admin, arranged):
    body = {
        "platform": "whatsapp",
        "connection_id": arranged.tenant.connection_id,
        "conversations": [
            {
                "external_conversation_id": "chat",
                "participant_identifier": PHONE,
                "messages": [
                    {"id": "m\u0000", "direction": "inbound", "type": "text", "content": "x", "sent_at": "2026-01-01"}
                ],
            }
        ],
    }
    answer = _post(gateway, arranged, "ingest", json.dumps(body))
    _refused(answer, "conversations[0].messages[0].id: must not contain NUL characters")


def test_emoji_written_as_escaped_surrogate_pairs_are_accepted(gateway, admin, arranged):
    answer = _post(gateway, arranged, "send", json.dumps({"recipient": PHONE, "body": "Shipped \U0001f680"}))
    assert answer.status_code == 200, answer.text
    assert answer.json()["message"]["content"] == "Shipped \U0001f680"


@pytest.mark.parametrize(
    ("route", "body", "error"),
    [
        ("send", {"recipient": PHONE, "body": " \n\t "}, "body: must not be blank"),
        ("conversation send", {"content": "   "}, "content: must not be blank"),
        ("conversation send", {"content": "x", "reply_to": "\u00b2"}, "reply_to names no message in this conversation"),
        (
            "conversation send",
            {"media": {"type": "image", "url": "https://example.test/a.png", "filename": "a.png"}},
            "media: filename is only for document media, not image",
        ),
    ],
    ids=["blank-body", "blank-content", "superscript-reply-to", "filename-on-image"],
)
def test_sends_meta_would_refuse_are_400s_and_meta_is_not_called(
    gateway, admin, fake_graph, arranged, route, body, error
):
    before = table_counts(admin)
    _refused(_post(gateway, arranged, route, json.dumps(body)), error)
    assert table_counts(admin) == before
    assert fake_graph.send_requests == []


def test_a_conversation_id_in_non_ascii_digits_is_not_a_conversation(gateway, arranged):
    answer = requests.post(
        f"{gateway.base_url}/v1/conversations/\u00b2/messages", headers=arranged.auth, json={"content": "x"}, timeout=30
    )
    assert (answer.status_code, answer.json()) == (404, {"error": "Conversation not found"})
    for path in ("/v1/conversations/\u00b2", "/v1/conversations/\u00b2/messages"):
        answer = requests.get(f"{gateway.base_url}{path}", headers=arranged.auth, timeout=30)
        assert (answer.status_code, answer.json()) == (400, {"error": "conversation id must be a positive integer"})


@pytest.mark.parametrize(
    ("route", "limit"), [("capture", 1_048_576), ("workspace create", 16_384), ("session create", 16_384)]
)
def test_bodies_over_the_documented_limit_are_refused(gateway, admin, arranged, route, limit):
    before = table_counts(admin)
    field = ROUTES[route][1]
    body = json.dumps({field: "x", "padding": "p" * limit})
    _refused(_post(gateway, arranged, route, body), f"Request body too large: at most {limit} bytes")
    assert table_counts(admin) == before


# ---------------------------------------------------------------------------------------------------------------
# A tenant that does not exist
# ---------------------------------------------------------------------------------------------------------------
UNKNOWN_TENANT = "Forbidden: the token's tenant does not exist"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/conversations", None),
        ("GET", "/api/v1/conversations/1", None),
        ("GET", "/v1/conversations/1/messages", None),
        ("POST", "/api/messages/send", {"recipient": PHONE, "body": "hi"}),
        ("POST", "/v1/conversations/1/messages", {"content": "hi"}),
        ("POST", "/v1/workspaces", {"name": "W"}),
        ("POST", "/v1/workspaces/cfg/sessions", {}),
        ("POST", "/api/workspace/cfg/session/wses_x/message/user", {"message": "hi"}),
    ],
)
def test_a_token_whose_tenant_does_not_exist_is_403_everywhere(gateway, admin, fake_graph, method, path, body):
    before = table_counts(admin)
    ghost = issue_token(tenant_id=str(uuid.uuid4()))
    answer = requests.request(
        method, f"{gateway.base_url}{path}", headers={"Authorization": f"Bearer {ghost}"}, json=body, timeout=30
    )
    assert (answer.status_code, answer.json()) == (403, {"error": UNKNOWN_TENANT})
    assert table_counts(admin) == before


def test_the_agent_route_refuses_a_missing_tenant_in_its_own_envelope(gateway):
    ghost = issue_token(tenant_id=str(uuid.uuid4()))
    answer = requests.get(
        f"{gateway.base_url}/api/agent/conversations/1/messages",
        headers={"Authorization": f"Bearer {ghost}"},
        timeout=30,
    )
    assert answer.status_code == 403
    assert answer.json() == {
        "success": False,
        "error": {"code": "FORBIDDEN", "message": UNKNOWN_TENANT, "details": UNKNOWN_TENANT},
    }


def test_a_websocket_connect_for_a_missing_tenant_is_refused_with_403(gateway, admin):
    ghost = issue_token(tenant_id=str(uuid.uuid4()))
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{gateway.websocket_url}/?token={ghost}")
    assert refused.value.response.status_code == 403


# ---------------------------------------------------------------------------------------------------------------
# WebSocket frames
# ---------------------------------------------------------------------------------------------------------------
def test_a_deeply_nested_frame_is_an_error_frame_and_the_connection_lives_on(gateway, arranged):
    with subscriber(gateway, arranged.tenant) as socket:
        socket.send('{"action": "subscribe_conversation", "conversation_id": ' + DEEP + "}")
        assert json.loads(socket.recv(timeout=10)) == {"type": "error", "error": TOO_DEEP_MESSAGE, "action": None}
        refused = ask(socket, {"action": "subscribe_session", "session_uuid": "wses_\ud800"})
        assert refused["type"] == "error" and "session_uuid" in refused["error"]
        answer = ask(socket, {"action": "subscribe_conversation", "conversation_id": arranged.conversation_id})
        assert answer["type"] == "subscribed"


# ---------------------------------------------------------------------------------------------------------------
# Timestamps at the edges of the calendar
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "sent_at",
    [
        "9999-12-31T23:59:59.999999-23:59",
        "9999-12-31T20:00:00-05:00",
        "0001-01-01T00:00:00+05:00",
        "1969-12-31T23:59:59Z",
        "2999-01-01T00:00:00Z",
    ],
)
def test_ingest_refuses_a_sent_at_outside_1970_to_a_day_ahead(gateway, admin, arranged, sent_at):
    before = table_counts(admin)
    answer = _ingest(gateway.base_url, arranged.tenant, sent_at=sent_at)
    _refused(answer, "conversations[0].messages[0].sent_at: must be between 1970-01-01T00:00:00Z and one day after now")
    assert table_counts(admin) == before


def test_timestamps_already_stored_beyond_pythons_calendar_never_fail_a_read(gateway, admin, arranged):
    """Rows written before the bound existed: year 10000 (UTC) and 1 BC, straight into the database."""
    other = _ingest(gateway.base_url, arranged.tenant, sent_at=datetime.now(UTC).isoformat(), phone="+15550009999")
    poisoned, year_zero = arranged.conversation_id, other.json()["results"][0]["conversation_id"]
    admin.execute("UPDATE conversations SET last_message_at = '10000-01-01T00:00:00Z' WHERE id = %s;", (poisoned,))
    admin.execute("UPDATE conversations SET last_message_at = '0001-12-31T00:00:00Z BC' WHERE id = %s", (year_zero,))
    admin.execute("UPDATE messages SET sent_at = '10000-01-01T00:00:00Z' WHERE conversation_id = %s", (poisoned,))
    admin.execute(
        "UPDATE contacts SET last_interaction_at = '10000-01-01T00:00:00Z' WHERE tenant_id = %s",
        (arranged.tenant.tenant_id,),
    )
    auth = {"Authorization": f"Bearer {arranged.token}"}
    base = gateway.base_url

    listed = requests.get(f"{base}/v1/conversations?limit=1", headers=auth, timeout=30)
    assert listed.status_code == 200, listed.text
    first = listed.json()["conversations"][0]
    assert (first["id"], first["last_message_at"]) == (poisoned, "9999-12-31T23:59:59.999999Z")
    following = requests.get(
        f"{base}/v1/conversations",
        params={"limit": 1, "cursor": listed.json()["next_cursor"]},
        headers=auth,
        timeout=30,
    )
    assert following.status_code == 200, following.text
    assert [item["id"] for item in following.json()["conversations"]] == [year_zero]
    for path in (
        f"/v1/conversations/{poisoned}",
        f"/v1/conversations/{year_zero}",
        f"/v1/conversations/{poisoned}/messages",
        f"/api/agent/conversations/{poisoned}/messages",
        f"/api/agent/conversations/{poisoned}/messages?order=desc",
    ):
        answer = requests.get(f"{base}{path}", headers=auth, timeout=30)
        assert answer.status_code == 200, (path, answer.text)


# ---------------------------------------------------------------------------------------------------------------
# Meta's webhook never loses a message to bad text
# ---------------------------------------------------------------------------------------------------------------
def test_a_signed_delivery_with_a_truncated_emoji_is_stored_with_a_replacement_character(gateway, admin, arranged):
    wamid = f"wamid.{uuid.uuid4().hex}"
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550000000", "phone_number_id": arranged.tenant.phone_number_id},
        "contacts": [{"profile": {"name": "Broken LONE"}, "wa_id": PHONE.lstrip("+")}],
        "messages": [
            {
                "from": PHONE.lstrip("+"),
                "id": wamid,
                "timestamp": str(int(datetime.now(UTC).timestamp())),
                "type": "text",
                "text": {"body": "see you LONE"},
            }
        ],
    }
    document = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "w", "changes": [{"field": "messages", "value": value}]}],
    }
    # The lone surrogate as Meta's bytes carry it: a JSON escape of half an emoji.
    body = json.dumps(document).replace("LONE", "\\ud83d")
    body_bytes = body.encode()
    answer = requests.post(
        f"{gateway.base_url}/v1/webhooks/whatsapp",
        data=body_bytes,
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: signature_for(body_bytes, APP_SECRET)},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    row = admin.execute("SELECT content FROM messages WHERE meta_id = %s", (wamid,)).fetchone()
    assert row == ("see you \ufffd",)
