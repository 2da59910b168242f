"""A connector's side of the round trip: a customer writing through ingest, an agent's reply, the connector's status
reports, and reading the deliveries and messages that result (the connection's callback receiver is the
`fake_connector` fixture, a devtools.webhook_receiver on a real port)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import psycopg.rows

from devtools.webhook_receiver import Reply
from tests.support.factories import Connector
from tests.support.ingest import batch, call_ingest, conversation, message
from tests.support.routes import call_route, service_claims

STATUSES_PATH = "/v1/ingest/statuses"
SEED_STATUSES_PATH = "/functions/v1/messaging-ingest/statuses"


def now_iso(delta: timedelta = timedelta()) -> str:
    return (datetime.now(UTC) + delta).isoformat()


def with_outbound_url(admin: psycopg.Connection[Any], connector: Connector, url: str | None) -> str | None:
    """Configure the connection's outbound URL as the CLI does; the signing secret when this gave it one."""
    from threadline.domain.replies.connector_callbacks import set_outbound_url

    return set_outbound_url(admin, connector.connection_id, url).outbound_secret


def customer_writes(connector: Connector, chat: str, identifier: str = "@johndoe") -> int:
    status, body = call_ingest(
        batch(connector, conversation(chat, identifier, message(f"in_{uuid.uuid4().hex[:8]}", now_iso()))),
        api_key=connector.api_secret,
    )
    assert status == 200, body
    return int(body["results"][0]["conversation_id"])


def reply(
    connector: Connector, conversation_id: int, body: dict[str, Any] | None = None, *, key: str | None = None
) -> tuple[int, Any]:
    return call_route(
        "POST",
        f"/v1/conversations/{conversation_id}/messages",
        body=body or {"content": "Your parcel left this morning"},
        headers={"idempotency-key": key} if key else None,
        claims=service_claims(connector.tenant_id),
    )


def report(connector: Connector, *statuses: dict[str, Any], api_key: str | None = None, path: str = STATUSES_PATH):
    body = {"platform": connector.platform, "connection_id": connector.connection_id, "statuses": list(statuses)}
    return call_route("POST", path, body=body, headers={"x-api-key": api_key or connector.api_secret})


def deliveries_of(admin: psycopg.Connection[Any], connector: Connector) -> list[dict[str, Any]]:
    with admin.cursor(row_factory=psycopg.rows.dict_row) as cursor:
        return cursor.execute(
            "SELECT * FROM deliveries WHERE tenant_id = %s AND target_kind = 'connection' ORDER BY created_at",
            (connector.tenant_id,),
        ).fetchall()


def message_row(admin: psycopg.Connection[Any], message_id: int) -> dict[str, Any]:
    with admin.cursor(row_factory=psycopg.rows.dict_row) as cursor:
        row = cursor.execute("SELECT * FROM messages WHERE id = %s", (message_id,)).fetchone()
    assert row is not None
    return row


def answer_with(external_id: str, status: int = 200) -> Reply:
    return Reply(status, json.dumps({"external_id": external_id}).encode())


def sweep_until_delivered(admin: psycopg.Connection[Any], connector: Connector, *, sweeps: int = 3) -> None:
    """The scheduled sweep, again at each next attempt's time, until none of the connection's deliveries is pending.

    The dispatcher makes at most MAX_IN_FLIGHT_PER_TARGET (4) attempts at one target at a time. When the threads of
    one sweep already have 4 under way at the connector (a loaded machine: about one run in five with five
    replies), the fifth is put back unattempted, due BUSY_TARGET_RETRY (5 s) later, for the next sweep: delayed, not
    lost. The next sweep here runs at that moment by its clock instead of sleeping until it."""
    from threadline.delivery.dispatcher import sweep_deliveries
    from threadline.domain.events.targets import TARGET_KINDS

    now = datetime.now(UTC)
    pending: list[dict[str, Any]] = []
    for _ in range(sweeps):
        sweep_deliveries(kinds=TARGET_KINDS, now=now)
        pending = [d for d in deliveries_of(admin, connector) if d["status"] == "pending"]
        if not pending:
            return
        now = max(datetime.now(UTC), min(d["next_attempt_at"] for d in pending))
    raise AssertionError(f"still pending after {sweeps} sweeps: {pending}")
