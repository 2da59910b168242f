"""The connector round trip as `make dev` runs it, over HTTP through the local gateway with a real token: a Telegram
customer writes (ingest), an agent replies (201 pending), the local dispatcher (in-process queue + thread, the same
code as the SQS-fed function) delivers the signed message.outbound to a fake connector this test starts, the
connector's answer makes the message sent, its status report moves it to read, and its next sync adds nothing."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from typing import Any

import requests

from devtools.auth import issue_token
from devtools.webhook_receiver import WebhookReceiver, verify


class Connector(WebhookReceiver):
    """Answers as a connector does ({"external_id": "local-<n>"}) and signals each delivery as it arrives."""

    def __init__(self) -> None:
        super().__init__()
        self.answer_external_ids = True
        self.arrived = threading.Event()

    def _answer(self, request):  # type: ignore[no-untyped-def]
        answer = super()._answer(request)
        self.arrived.set()
        return answer


def wait_for_status(base_url: str, headers: dict[str, str], conversation_id: int, wanted: str) -> dict[str, Any]:
    """The reply once its status is `wanted` (the dispatcher records the answer just after the connector sent it)."""
    for _ in range(200):
        page = requests.get(f"{base_url}/v1/conversations/{conversation_id}/messages", headers=headers, timeout=10)
        outbound = [m for m in page.json()["messages"] if m["direction"] == "outbound"]
        if outbound and outbound[0]["status"] == wanted:
            return outbound[0]
        time.sleep(0.05)
    raise AssertionError(f"the reply never became {wanted}: {outbound}")


def test_a_reply_goes_to_the_connector_and_its_status_comes_back_through_the_gateway(
    gateway, make_connector, admin, dispatcher
):
    from threadline.domain.replies.connector_callbacks import set_outbound_url

    telegram = make_connector("telegram")
    headers = {"Authorization": f"Bearer {issue_token(tenant_id=str(telegram.tenant_id))}"}
    connector_key = {"x-api-key": telegram.api_secret}
    with Connector() as connector:
        secret = set_outbound_url(admin, telegram.connection_id, connector.url).outbound_secret
        assert secret is not None

        def sync(message: dict[str, Any]) -> dict[str, Any]:
            body = {
                "platform": "telegram",
                "connection_id": telegram.connection_id,
                "conversations": [
                    {
                        "external_conversation_id": "chat_e2e_tg",
                        "participant_identifier": "@johndoe",
                        "messages": [message | {"type": "text", "sent_at": datetime.now(UTC).isoformat()}],
                    }
                ],
            }
            answer = requests.post(f"{gateway.base_url}/v1/ingest", json=body, headers=connector_key, timeout=10)
            assert answer.status_code == 200, answer.text
            return answer.json()["results"][0]

        conversation_id = sync({"id": "tg_in_1", "direction": "inbound", "content": "Where is my order?"})[
            "conversation_id"
        ]

        replied = requests.post(
            f"{gateway.base_url}/v1/conversations/{conversation_id}/messages",
            json={"content": "It left this morning"},
            headers=headers,
            timeout=10,
        )

        assert replied.status_code == 201, replied.text
        assert replied.json()["message"]["status"] == "pending"
        assert connector.arrived.wait(timeout=30), "no delivery arrived"
        [request] = connector.requests
        assert verify(secret, request.headers["threadline-signature"], request.body)
        data = json.loads(request.body)["data"]
        assert (data["message_id"], data["content"], data["external_conversation_id"]) == (
            replied.json()["message"]["id"],
            "It left this morning",
            "chat_e2e_tg",
        )
        sent = wait_for_status(gateway.base_url, headers, conversation_id, "sent")
        assert sent["id"] == data["message_id"]

        status_report = {
            "platform": "telegram",
            "connection_id": telegram.connection_id,
            "statuses": [{"external_id": "local-1", "status": "read", "occurred_at": datetime.now(UTC).isoformat()}],
        }
        reported = requests.post(
            f"{gateway.base_url}/v1/ingest/statuses", json=status_report, headers=connector_key, timeout=10
        )
        assert reported.status_code == 200, reported.text
        assert reported.json()["results"][0]["status"] == "updated"
        assert wait_for_status(gateway.base_url, headers, conversation_id, "read")["id"] == sent["id"]

        again = sync({"id": "local-1", "direction": "outbound", "content": "It left this morning"})
        assert again["messages_added"] == 0
        page = requests.get(
            f"{gateway.base_url}/v1/conversations/{conversation_id}/messages", headers=headers, timeout=10
        )
        assert [m["id"] for m in page.json()["messages"] if m["direction"] == "outbound"] == [sent["id"]]
