"""Labels, a private note and the read horizon end to end over HTTP through the local gateway (`make dev`'s), with
a real bearer token verified as API Gateway's JWT authorizer verifies it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import requests

from devtools.auth import issue_token
from threadline.db.repositories.tenants import insert_user


def test_an_agent_labels_notes_and_reads_a_conversation_over_http(gateway, admin, connector, fake_graph):
    agent = insert_user(admin, tenant_id=connector.tenant_id, name="Ana Agent", email=f"{uuid.uuid4().hex[:8]}@a.test")
    headers = {"Authorization": f"Bearer {issue_token(tenant_id=str(connector.tenant_id), user_id=str(agent.id))}"}
    ingest = {
        "platform": "whatsapp",
        "connection_id": connector.connection_id,
        "conversations": [
            {
                "external_conversation_id": "chat_e2e",
                "participant_identifier": "+15550009999",
                "messages": [
                    {
                        "id": "m1",
                        "direction": "inbound",
                        "type": "text",
                        "content": "Refund?",
                        "sent_at": datetime.now(UTC).isoformat(),
                    }
                ],
            }
        ],
    }
    answer = requests.post(f"{gateway.base_url}/v1/ingest", json=ingest, headers={"x-api-key": connector.api_secret})
    conversation = answer.json()["results"][0]["conversation_id"]
    base = f"{gateway.base_url}/v1/conversations/{conversation}"

    labelled = requests.put(f"{base}/labels", json={"labels": ["VIP", "refund"]}, headers=headers, timeout=10)
    note = requests.post(f"{base}/notes", json={"content": "Approved"}, headers=headers, timeout=10)
    listed: Any = requests.get(f"{gateway.base_url}/api/v1/labels", headers=headers, timeout=10).json()
    unread_before = requests.get(base, headers=headers, timeout=10).json()["unread_count"]
    read = requests.post(f"{base}/read", headers=headers, timeout=10)
    unread_after = requests.get(base, headers=headers, timeout=10).json()["unread_count"]

    assert (labelled.status_code, labelled.json()["labels"]) == (200, ["VIP", "refund"])
    assert (note.status_code, note.json()["private"]) == (201, True)
    assert {label["name"]: label["conversation_count"] for label in listed["labels"]} == {"VIP": 1, "refund": 1}
    # Writing the note moved Ana's horizon past the customer's message.
    assert (unread_before, read.status_code, read.json()["unread_count"], unread_after) == (0, 200, 0, 0)
    assert fake_graph.requests == []
    unauthenticated = requests.post(f"{base}/read", timeout=10)
    assert (unauthenticated.status_code, unauthenticated.json()) == (401, {"message": "Unauthorized"})
