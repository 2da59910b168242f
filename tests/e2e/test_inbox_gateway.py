"""The team inbox end to end, as `make dev` serves it: the admin CLI sets up teams and auto-assignment, real HTTP
calls through the local gateway change conversations (ETag, If-Match), and a real WebSocket client on the inbox feed
hears every change, the system's own included."""

from __future__ import annotations

import json
import uuid
from typing import Any

import psycopg
import requests
from websockets.sync.client import connect

from devtools.auth import issue_token
from tests.e2e.test_cli import refused, threadline
from tests.e2e.test_websocket_gateway import ask, assert_silent, http_ingest, next_frame
from tests.support.factories import new_tenant
from tests.support.send import make_whatsapp_tenant


def agent(admin: psycopg.Connection[Any], tenant_id: uuid.UUID, name: str) -> str:
    row = admin.execute(
        "INSERT INTO users (tenant_id, name) VALUES (%s, %s) RETURNING id", (tenant_id, name)
    ).fetchone()
    assert row is not None
    return str(row[0])


def change_then_counts(socket: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """An inbox_conversation frame and the inbox_counts frame its change moved, which follows it."""
    change, counts = next_frame(socket), next_frame(socket)
    assert (change["type"], counts["type"]) == ("inbox_conversation", "inbox_counts"), (change, counts)
    return change, counts["counts"]


def test_cli_teams_and_settings_then_http_changes_and_the_inbox_feed(database_url, live, admin):
    tenant = make_whatsapp_tenant(admin)
    ana, bob = agent(admin, tenant.tenant_id, "Ana"), agent(admin, tenant.tenant_id, "Bob")
    settings = threadline(
        database_url,
        "tenant",
        "configure",
        str(tenant.tenant_id),
        "--auto-assign",
        "on",
        "--max-open-per-agent",
        "2",
        "--read-receipts",
        "on_reply",
    )
    assert settings["auto_assign"] is True and settings["max_open_per_agent"] == 2
    assert settings["read_receipts"] == "on_reply"
    team = threadline(database_url, "team", "create", "--tenant", str(tenant.tenant_id), "--name", "Billing")
    assert threadline(database_url, "team", "add-member", team["id"], bob) == {"team_id": team["id"], "user_id": bob}
    configured = threadline(database_url, "team", "configure", team["id"], "--auto-assign", "off")
    assert configured["auto_assign"] is False and configured["max_open_per_agent"] is None

    base = live.base_url
    ana_headers = {"Authorization": f"Bearer {issue_token(tenant_id=str(tenant.tenant_id), user_id=ana)}"}
    teams = requests.get(f"{base}/v1/teams", headers=ana_headers, timeout=30).json()["teams"]
    assert [(t["name"], [m["name"] for m in t["members"]]) for t in teams] == [("Billing", ["Bob"])]

    assert live.websocket_url is not None
    with connect(f"{live.websocket_url}/?token={issue_token(tenant_id=str(tenant.tenant_id), user_id=ana)}") as socket:
        assert ask(socket, {"type": "subscribe_inbox"}) == {"type": "subscribed", "topic": "inbox"}

        # Ana comes online; a customer writes: the conversation is created, then given to her.
        online = requests.put(
            f"{base}/v1/agents/me/availability", headers=ana_headers, json={"availability": "online"}, timeout=30
        )
        assert online.status_code == 200 and online.json()["availability"] == "online"
        conversation = http_ingest(live, tenant, "chat_e2e_inbox", "m1")["conversation_id"]
        (created, counts), (assigned, assigned_counts) = change_then_counts(socket), change_then_counts(socket)
        assert (created["event"], created["conversationId"]) == ("created", conversation)
        assert (counts["open"]["all"], counts["open"]["unassigned"]) == (1, 1)
        assert (assigned["event"], assigned["by"], assigned["changes"]["assignee_id"]) == ("assigned", None, ana)
        assert (assigned_counts["open"]["unassigned"], assigned_counts["open"]["assignees"]) == (0, {ana: 1})

        got = requests.get(f"{base}/v1/conversations/{conversation}", headers=ana_headers, timeout=30)
        etag = got.headers["ETag"]
        resolved = requests.patch(
            f"{base}/api/v1/conversations/{conversation}",
            headers=ana_headers | {"If-Match": etag},
            json={"status": "resolved"},
            timeout=30,
        )
        assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
        assert resolved.headers["ETag"] != etag
        frame, counts = change_then_counts(socket)
        assert (frame["event"], frame["changes"]["status"], frame["by"]["name"]) == ("updated", "resolved", "Ana")
        assert (counts["open"]["all"], counts["resolved"]["assignees"]) == (0, {ana: 1})

        stale = requests.patch(
            f"{base}/v1/conversations/{conversation}",
            headers=ana_headers | {"If-Match": etag},
            json={"priority": "high"},
            timeout=30,
        )
        assert stale.status_code == 412 and "error" in stale.json()
        assert_silent(socket)

        # The customer writes again: re-opened by the system.
        http_ingest(live, tenant, "chat_e2e_inbox", "m2")
        reopened, counts = change_then_counts(socket)
        assert counts["open"]["assignees"] == {ana: 1}
        assert (reopened["event"], reopened["by"], reopened["changes"]["status"]) == ("reopened", None, "open")

    # Another tenant's token: not found, and its own lists only.
    other_tenant = new_tenant(admin, "other")
    stranger = {"Authorization": f"Bearer {issue_token(tenant_id=str(other_tenant), user_id=str(uuid.uuid4()))}"}
    answer = requests.patch(
        f"{base}/v1/conversations/{conversation}", headers=stranger, json={"status": "open"}, timeout=30
    )
    assert (answer.status_code, answer.json()) == (404, {"error": "Conversation not found"})
    assert requests.get(f"{base}/v1/agents", headers=stranger, timeout=30).json() == {"agents": []}
    me = requests.put(f"{base}/v1/agents/me/availability", headers=stranger, json={"availability": "busy"}, timeout=30)
    assert me.status_code == 403
    assert json.loads(requests.get(f"{base}/v1/teams", headers=stranger, timeout=30).text) == {"teams": []}


def test_cli_refusals_are_json(database_url, admin):
    tenant = make_whatsapp_tenant(admin)
    assert "No tenant" in refused(database_url, "tenant", "configure", str(uuid.uuid4()), "--auto-assign", "on")
    assert "--max-open-per-agent" in refused(
        database_url, "tenant", "configure", str(tenant.tenant_id), "--max-open-per-agent", "0"
    )
    assert "No team" in refused(database_url, "team", "configure", str(uuid.uuid4()), "--auto-assign", "on")
    team = threadline(database_url, "team", "create", "--tenant", str(tenant.tenant_id), "--name", "Ops")
    assert "already exists" in refused(
        database_url, "team", "create", "--tenant", str(tenant.tenant_id), "--name", "Ops"
    )
    # A user of another tenant (or none) cannot join the team.
    assert refused(database_url, "team", "add-member", team["id"], str(uuid.uuid4())).startswith("No user")
