"""Arranging WhatsApp contacts with a known window, and calling the send routes through the template's routing
(tests/support/routes.py)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from tests.support.factories import new_tenant
from tests.support.ingest import call_ingest
from tests.support.paths import load_event
from tests.support.routes import call_route, service_claims


@dataclass(frozen=True)
class WhatsAppTenant:
    tenant_id: uuid.UUID
    connection_id: str
    api_secret: str
    phone_number_id: str


def make_whatsapp_tenant(admin: psycopg.Connection[Any]) -> WhatsAppTenant:
    from threadline.domain.intake.connections import create_connection

    tenant_id = new_tenant(admin)
    phone_number_id = str(uuid.uuid4().int)[:15]
    created = create_connection(
        admin,
        tenant_id=tenant_id,
        platform="whatsapp",
        connection_id=f"wa_{uuid.uuid4().hex[:12]}",
        phone_number_id=phone_number_id,
    )
    return WhatsAppTenant(tenant_id, created.connection.connection_id, created.api_secret, phone_number_id)


def customer_wrote(
    tenant: WhatsAppTenant, *, phone: str, ago: timedelta, conversation: str | None = None, platform: str = "whatsapp"
) -> int:
    """A connector reports an inbound message sent `ago`: this is what opens (or re-opens) the window."""
    sent_at = (datetime.now(UTC) - ago).isoformat()
    external = conversation or f"chat_{uuid.uuid4().hex[:8]}"
    status, body = call_ingest(
        {
            "platform": platform,
            "connection_id": tenant.connection_id,
            "conversations": [
                {
                    "external_conversation_id": external,
                    "participant_identifier": phone,
                    "participant_name": "Jane Customer",
                    "messages": [
                        {
                            "id": f"in_{uuid.uuid4().hex[:10]}",
                            "direction": "inbound",
                            "type": "text",
                            "content": "Hello?",
                            "sent_at": sent_at,
                        }
                    ],
                }
            ],
        },
        api_key=tenant.api_secret,
    )
    assert status == 200, body
    return int(body["results"][0]["conversation_id"])


def call_send(
    body: Any,
    *,
    tenant_id: uuid.UUID | str | None,
    event_file: str = "send-seed-path.json",
    idempotency_key: str | None = None,
    conversation_id: int | str | None = None,
    timeout_seconds: int = 29,
) -> tuple[int, Any]:
    """POST to the send path of `event_file`'s sample event, as a service token of `tenant_id` (None: a token
    whose claims name no tenant); `conversation_id` fills the conversation routes' path."""
    path = load_event(event_file)["rawPath"]
    if conversation_id is not None:
        path = f"{path.rsplit('/', 2)[0]}/{conversation_id}/messages"
    headers = {"idempotency-key": idempotency_key} if idempotency_key is not None else {}
    return call_route(
        "POST",
        path,
        body=body,
        headers=headers,
        claims=service_claims(tenant_id),
        timeout_seconds=timeout_seconds,
    )


def outbound_messages(admin: psycopg.Connection[Any], tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    with admin.cursor(row_factory=psycopg.rows.dict_row) as cursor:
        return cursor.execute(
            "SELECT * FROM messages WHERE tenant_id = %s AND direction = 'outbound' ORDER BY id", (tenant_id,)
        ).fetchall()
