"""One new customer, one contact: first messages from a new number arriving at once, in different spellings,
through real concurrent HTTP requests (the local gateway serves each on its own thread and database connection)."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import requests

from tests.support.factories import new_tenant
from threadline.meta.webhook import SIGNATURE_HEADER, signature_for

ROUNDS = 5


def _spellings(last10: str) -> list[str]:
    return [f"+1 {last10[:3]} {last10[3:6]} {last10[6:]}", f"1{last10}", f"({last10[:3]}) {last10[3:6]}-{last10[6:]}"]


def _ingest_body(connection_id: str, identifier: str) -> dict[str, Any]:
    return {
        "platform": "whatsapp",
        "connection_id": connection_id,
        "conversations": [
            {
                "external_conversation_id": f"chat_{uuid.uuid4().hex[:10]}",
                "participant_identifier": identifier,
                "participant_name": "New Customer",
                "messages": [
                    {
                        "id": "m1",
                        "direction": "inbound",
                        "type": "text",
                        "content": "hello",
                        "sent_at": datetime.now(UTC).isoformat(),
                    }
                ],
            }
        ],
    }


def _all_at_once(requests_to_send: list[dict[str, Any]]) -> list[requests.Response]:
    barrier = threading.Barrier(len(requests_to_send))
    answers: list[requests.Response | None] = [None] * len(requests_to_send)

    def send(index: int) -> None:
        barrier.wait()
        answers[index] = requests.request(**requests_to_send[index], timeout=30)

    threads = [threading.Thread(target=send, args=(index,)) for index in range(len(requests_to_send))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(answer is not None for answer in answers)
    return [answer for answer in answers if answer is not None]


def _contacts_for(admin: Any, tenant_id: uuid.UUID, last10: str) -> list[Any]:
    # Every contact whose identifier carries these digits, whether or not it was recognised as a phone number.
    return admin.execute(
        "SELECT id FROM contacts WHERE tenant_id = %s AND right(regexp_replace(identifier, '[^0-9]', '', 'g'), 10) = %s",
        (tenant_id, last10),
    ).fetchall()


def test_concurrent_first_messages_in_three_spellings_make_one_contact(gateway, admin, make_connector):
    connector = make_connector()
    for _ in range(ROUNDS):
        last10 = "555" + str(uuid.uuid4().int)[:7]
        answers = _all_at_once(
            [
                {
                    "method": "POST",
                    "url": f"{gateway.base_url}/v1/ingest",
                    "headers": {"x-api-key": connector.api_secret},
                    "json": _ingest_body(connector.connection_id, spelling),
                }
                for spelling in _spellings(last10)
            ]
        )
        assert [answer.status_code for answer in answers] == [200, 200, 200], [a.text for a in answers]
        assert len(_contacts_for(admin, connector.tenant_id, last10)) == 1


def test_one_batch_naming_a_new_number_in_two_spellings_makes_one_contact(gateway, admin, make_connector):
    connector = make_connector()
    last10 = "555" + str(uuid.uuid4().int)[:7]
    body = _ingest_body(connector.connection_id, f"+1{last10}")
    body["conversations"] += _ingest_body(connector.connection_id, f"({last10[:3]}) {last10[3:]}")["conversations"]
    answer = requests.post(
        f"{gateway.base_url}/v1/ingest", headers={"x-api-key": connector.api_secret}, json=body, timeout=30
    )
    assert answer.status_code == 200, answer.text
    contacts = _contacts_for(admin, connector.tenant_id, last10)
    assert len(contacts) == 1
    conversations = admin.execute(
        "SELECT DISTINCT contact_id FROM conversations WHERE tenant_id = %s", (connector.tenant_id,)
    ).fetchall()
    assert conversations == contacts


def _webhook_delivery(phone_number_id: str, wa_id: str) -> bytes:
    import json

    return json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "waba",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {"display_phone_number": "15550000000", "phone_number_id": phone_number_id},
                                "contacts": [{"profile": {"name": "New Customer"}, "wa_id": wa_id}],
                                "messages": [
                                    {
                                        "from": wa_id,
                                        "id": f"wamid.{uuid.uuid4().hex}",
                                        "timestamp": str(int(datetime.now(UTC).timestamp())),
                                        "type": "text",
                                        "text": {"body": "hello"},
                                    }
                                ],
                            },
                        }
                    ],
                }
            ],
        }
    ).encode()


def test_the_webhook_and_ingest_at_once_make_one_contact(gateway, admin, fake_graph, monkeypatch):
    from threadline.domain.intake.connections import create_connection
    from threadline.meta.client import reset_meta_client

    monkeypatch.setenv("META_APP_SECRET", "concurrency-app-secret")
    reset_meta_client()
    tenant = new_tenant(admin, "contacts")
    phone_number_id = str(uuid.uuid4().int)[:15]
    created = create_connection(admin, tenant_id=tenant, platform="whatsapp", phone_number_id=phone_number_id)
    try:
        for _ in range(ROUNDS):
            last10 = "555" + str(uuid.uuid4().int)[:7]
            delivery = _webhook_delivery(phone_number_id, f"1{last10}")
            answers = _all_at_once(
                [
                    {
                        "method": "POST",
                        "url": f"{gateway.base_url}/v1/webhooks/whatsapp",
                        "headers": {
                            "Content-Type": "application/json",
                            SIGNATURE_HEADER: signature_for(delivery, "concurrency-app-secret"),
                        },
                        "data": delivery,
                    },
                    {
                        "method": "POST",
                        "url": f"{gateway.base_url}/v1/ingest",
                        "headers": {"x-api-key": created.api_secret},
                        "json": _ingest_body(created.connection.connection_id, f"+1 {last10}"),
                    },
                    {
                        "method": "POST",
                        "url": f"{gateway.base_url}/v1/ingest",
                        "headers": {"x-api-key": created.api_secret},
                        "json": _ingest_body(created.connection.connection_id, f"({last10[:3]}) {last10[3:]}"),
                    },
                ]
            )
            assert [answer.status_code for answer in answers] == [200, 200, 200], [a.text for a in answers]
            assert len(_contacts_for(admin, tenant, last10)) == 1
    finally:
        reset_meta_client()
