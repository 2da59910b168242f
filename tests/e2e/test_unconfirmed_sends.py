"""Sends whose outcome stays unknown (Meta's answer lost), end to end through the local gateway: a keyed retry after
Meta's status webhook confirmed the message answers the confirmed send; a message no status confirms within the
bound ends failed through the scheduled function, and its subscribers hear it; Meta's word, come late, still wins."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests

from devtools import fake_graph as graph
from devtools.lambda_runtime import LocalLambdaContext, load_handler
from devtools.template import load_template
from tests.e2e.test_websocket_gateway import ask, next_frame, subscriber
from tests.support.paths import load_event
from tests.support.send import WhatsAppTenant, customer_wrote, make_whatsapp_tenant, outbound_messages
from threadline.meta.client import reset_meta_client
from threadline.meta.webhook import SIGNATURE_HEADER, signature_for

PHONE = "+15557654321"
APP_SECRET = "unconfirmed-sends-app-secret"
UNCONFIRMED_TITLE = "Not confirmed by Meta"


@pytest.fixture
def tenant(admin) -> WhatsAppTenant:
    return make_whatsapp_tenant(admin)


@pytest.fixture
def conversation(tenant: WhatsAppTenant) -> int:
    return customer_wrote(tenant, phone=PHONE, ago=timedelta(minutes=5))


@pytest.fixture
def signed_webhooks(fake_graph, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("META_APP_SECRET", APP_SECRET)
    reset_meta_client()
    yield
    reset_meta_client()


def send(gateway, tenant: WhatsAppTenant, key: str) -> requests.Response:
    from devtools.auth import issue_token

    return requests.post(
        f"{gateway.base_url}/api/messages/send",
        headers={"Authorization": f"Bearer {issue_token(tenant_id=str(tenant.tenant_id))}", "Idempotency-Key": key},
        json={"recipient": PHONE, "body": "Your order has shipped"},
        timeout=30,
    )


def meta_reports(gateway, tenant: WhatsAppTenant, *, wamid: str, state: str, callback: str) -> None:
    """Meta's status webhook, signed, for the message whose external id Meta echoes as biz_opaque_callback_data."""
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550000000", "phone_number_id": tenant.phone_number_id},
        "statuses": [
            {
                "id": wamid,
                "status": state,
                "timestamp": "1767225600",
                "recipient_id": PHONE.lstrip("+"),
                "biz_opaque_callback_data": callback,
            }
        ],
    }
    body = json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [{"id": "waba", "changes": [{"field": "messages", "value": value}]}],
        }
    ).encode()
    answer = requests.post(
        f"{gateway.base_url}/v1/webhooks/whatsapp",
        data=body,
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: signature_for(body, APP_SECRET)},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text


def run_the_scheduled_function() -> dict[str, Any]:
    handler = load_handler(load_template().functions["ExpireWindowsFunction"])
    return handler(
        load_event("scheduled-window-expiry.json"), LocalLambdaContext(function_name="ExpireWindowsFunction")
    )


@pytest.mark.parametrize("failure", [graph.server_error(500), graph.malformed_json()], ids=["meta-500", "garbled-200"])
def test_a_keyed_retry_after_metas_confirmation_answers_the_confirmed_send(
    gateway, admin, fake_graph, signed_webhooks, tenant, conversation, failure
):
    fake_graph.script(*[failure] * 5)
    key = str(uuid.uuid4())
    first = send(gateway, tenant, key)
    assert first.status_code == 502 and "may still be delivered" in first.json()["error"]
    calls = len(fake_graph.send_requests)
    (pending,) = outbound_messages(admin, tenant.tenant_id)
    assert pending["status"] == "pending"

    meta_reports(gateway, tenant, wamid="wamid.confirmed", state="sent", callback=pending["external_id"])
    retry = send(gateway, tenant, key)

    assert retry.status_code == 200, retry.text
    assert retry.json()["meta_id"] == "wamid.confirmed"
    assert retry.json()["message"]["status"] == "sent"
    assert len(fake_graph.send_requests) == calls  # answered from the confirmation: Meta is not called again


def test_an_unconfirmed_send_ends_failed_through_the_scheduled_function_and_subscribers_hear_it(
    live, admin, fake_graph, signed_webhooks, tenant, conversation
):
    fake_graph.script(*[graph.malformed_json()] * 5)
    key = str(uuid.uuid4())
    with subscriber(live, tenant) as socket:
        assert (
            ask(socket, {"action": "subscribe_conversation", "conversation_id": conversation})["type"] == "subscribed"
        )
        assert send(live, tenant, key).status_code == 502
        assert next_frame(socket)["event"] == "created"  # the pending message
        assert next_frame(socket)["event"] == "updated"  # its outcome unknown
        (row,) = outbound_messages(admin, tenant.tenant_id)

        # Within the bound, the scheduled run leaves it pending: Meta's status may still come.
        admin.execute("UPDATE messages SET created_at = now() - interval '59 minutes' WHERE id = %s", (row["id"],))
        run_the_scheduled_function()
        assert outbound_messages(admin, tenant.tenant_id)[0]["status"] == "pending"

        admin.execute("UPDATE messages SET created_at = now() - interval '61 minutes' WHERE id = %s", (row["id"],))
        outcome = run_the_scheduled_function()
        frame = next_frame(socket)

    assert outcome["sends_failed_unconfirmed"] >= 1
    (failed,) = outbound_messages(admin, tenant.tenant_id)
    assert (failed["status"], failed["error_code"], failed["error_title"]) == ("failed", None, UNCONFIRMED_TITLE)
    assert "no status webhook confirmed it" in failed["error_details"]
    assert frame["type"] == "conversation_message" and frame["event"] == "status"
    assert frame["message"]["id"] == row["id"]
    assert frame["message"]["status"] == "failed"
    assert frame["message"]["error"] == {"code": None, "title": UNCONFIRMED_TITLE}

    # The keyed retry still does not send a second copy.
    calls = len(fake_graph.send_requests)
    assert send(live, tenant, key).status_code == 502
    assert len(fake_graph.send_requests) == calls

    # Meta's status, arriving after the bound, is the truth: the message was delivered after all.
    meta_reports(live, tenant, wamid="wamid.late", state="delivered", callback=row["external_id"])
    (delivered,) = outbound_messages(admin, tenant.tenant_id)
    assert (delivered["status"], delivered["meta_id"], delivered["error_title"]) == ("delivered", "wamid.late", None)
    retry = send(live, tenant, key)
    assert (retry.status_code, retry.json()["meta_id"]) == (200, "wamid.late")
