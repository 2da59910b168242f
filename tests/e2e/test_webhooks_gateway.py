"""A webhook end to end as `make dev` runs it: subscribe over HTTP through the local gateway, a connector's ingest,
and the local dispatcher (in-process queue + thread, the same domain code as the SQS-fed function) delivering a
signed POST to a receiver this test starts."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import requests

from devtools.auth import issue_token
from devtools.local_dispatcher import LocalDispatcher, start_local_dispatcher
from devtools.webhook_receiver import WebhookReceiver, verify
from threadline.delivery.queue import register_local_queue


@pytest.fixture
def dispatcher() -> Iterator[LocalDispatcher]:
    running = start_local_dispatcher(sweep_every_seconds=3600)  # only the after-commit hand-over, no sweep
    yield running
    running.stop()
    register_local_queue(None)


class Arrival(WebhookReceiver):
    """Signals each request as it arrives, so the test waits for the event instead of a fixed time."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived = threading.Event()

    def _answer(self, request):  # type: ignore[no-untyped-def]
        answer = super()._answer(request)
        self.arrived.set()
        return answer


def test_a_change_reaches_a_subscribed_receiver_through_the_local_dispatcher(gateway, connector, dispatcher):
    headers = {"Authorization": f"Bearer {issue_token(tenant_id=str(connector.tenant_id))}"}
    with Arrival() as receiver:
        created = requests.post(
            f"{gateway.base_url}/v1/webhooks",
            json={"url": receiver.url, "events": ["message.created"]},
            headers=headers,
            timeout=10,
        )
        assert created.status_code == 201, created.text
        secret = created.json()["secret"]
        ingest = {
            "platform": "whatsapp",
            "connection_id": connector.connection_id,
            "conversations": [
                {
                    "external_conversation_id": "chat_e2e_hook",
                    "participant_identifier": "+15550008888",
                    "messages": [
                        {
                            "id": "hook-1",
                            "direction": "inbound",
                            "type": "text",
                            "content": "Where is my parcel?",
                            "sent_at": datetime.now(UTC).isoformat(),
                        }
                    ],
                }
            ],
        }
        answer = requests.post(
            f"{gateway.base_url}/v1/ingest", json=ingest, headers={"x-api-key": connector.api_secret}, timeout=10
        )
        assert answer.status_code == 200, answer.text
        assert receiver.arrived.wait(timeout=30), "no delivery arrived"
        [request] = receiver.requests
        assert verify(secret, request.headers["threadline-signature"], request.body)
        body = json.loads(request.body)
        assert body["event"] == "message.created" and body["data"]["content"] == "Where is my parcel?"
        history = requests.get(
            f"{gateway.base_url}/v1/webhooks/{created.json()['id']}/deliveries", headers=headers, timeout=10
        ).json()
        assert history["deliveries"][0]["id"] == request.headers["threadline-delivery"]
