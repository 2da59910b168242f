"""Statuses a connector reports for the replies it delivered (`POST /v1/ingest/statuses`, docs/connector-callbacks.md).

Authenticated as ingest is, in the seed's order: the x-api-key header, the body, the connection (exists, on that
platform), the key, the connection's active flag; nothing is written unless all of them pass. Statuses only move
forward, in the order Meta's do (`message_status_rank`: sent < delivered < read < failed), so a late `delivered`
never overwrites `read`; every status that moved its message appends a `message.status_changed` event (the log's
trigger) and sends a `status` frame to the conversation's subscribers after the commit.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg

from threadline.db.errors import ExternalIdTaken
from threadline.db.repositories.connector_callbacks import (
    ConnectorStatusBatch,
    StatusOutcome,
    adopt_platform_id,
    apply_connector_statuses,
    find_connection_message,
)
from threadline.db.tenancy import run_in_transaction, set_transaction_tenant
from threadline.domain.intake.ingest import authorise_connection
from threadline.models.connector_statuses import (
    ReportedStatus,
    StatusReportRequest,
    StatusReportResponse,
    StatusResult,
)
from threadline.realtime.publisher import publish_stored_messages
from threadline.vocabulary import THREADLINE_EXTERNAL_ID_PREFIX


def report_statuses(*, api_key: str, request: StatusReportRequest) -> StatusReportResponse:
    def write(conn: psycopg.Connection[Any]) -> tuple[UUID, list[StatusOutcome], dict[int, str], set[int]]:
        connection = authorise_connection(conn, api_key, platform=request.platform, connection_id=request.connection_id)
        set_transaction_tenant(conn, connection.tenant_id)
        refused, adopted = _adopt_platform_ids(conn, connection.id, request.statuses)
        outcomes = apply_connector_statuses(
            conn, tenant_id=connection.tenant_id, connection_uuid=connection.id, batch=_batch(request.statuses)
        )
        return connection.tenant_id, outcomes, refused, adopted

    tenant_id, outcomes, refused, adopted = run_in_transaction(write)
    results = [
        _result(item, outcome, refused.get(outcome.position))
        for item, outcome in zip(request.statuses, outcomes, strict=True)
    ]
    moved = adopted | {outcome.message_ids[0] for outcome in outcomes if outcome.advanced}
    # Committed: the conversations' subscribers hear of it (never raises).
    publish_stored_messages(tenant_id, "status", sorted(moved))
    return StatusReportResponse(processed=len(results), results=results)


def _adopt_platform_ids(
    conn: psycopg.Connection[Any], connection_uuid: UUID, statuses: list[ReportedStatus]
) -> tuple[dict[int, str], set[int]]:
    """A status naming both ids records the platform's on a reply that has none yet (its connector answered without
    one), folding in the connector's synced copy if there is one. Rare, so one statement per such status."""
    refused: dict[int, str] = {}
    adopted: set[int] = set()
    for position, item in enumerate(statuses):
        if item.message_id is None or item.external_id is None:
            continue
        current = find_connection_message(conn, connection_uuid, item.message_id)
        if current is None or not current.startswith(THREADLINE_EXTERNAL_ID_PREFIX):
            continue  # not this connection's reply (not_found below), or its platform id is already known
        try:
            with conn.transaction():
                changed = adopt_platform_id(conn, item.message_id, item.external_id)
        except ExternalIdTaken:
            refused[position] = "error: external_id already names another message in this conversation"
            continue
        if changed is not None:
            adopted.add(changed)
    return refused, adopted


def _batch(statuses: list[ReportedStatus]) -> ConnectorStatusBatch:
    batch = ConnectorStatusBatch()
    for position, item in enumerate(statuses):
        batch.positions.append(position)
        batch.message_ids.append(item.message_id)
        batch.external_ids.append(item.external_id)
        batch.external_conversation_ids.append(item.external_conversation_id)
        batch.statuses.append(item.status)
        batch.status_at.append(item.occurred_at)
        batch.error_codes.append(item.error.code if item.error else None)
        batch.error_titles.append(item.error.title if item.error else None)
    return batch


def _result(item: ReportedStatus, outcome: StatusOutcome, refusal: str | None) -> StatusResult:
    message_id = outcome.message_ids[0] if len(outcome.message_ids) == 1 else item.message_id
    if refusal is not None:
        status = refusal
    elif not outcome.message_ids:
        status = "not_found"
    elif len(outcome.message_ids) > 1:
        status = (
            f"error: external_id names messages in {len(outcome.message_ids)} conversations; "
            "add external_conversation_id"
        )
    else:
        status = "updated" if outcome.advanced else "unchanged"
    return StatusResult(
        message_id=message_id,
        external_id=item.external_id,
        status=status,
        message_status=outcome.current_status if len(outcome.message_ids) == 1 else None,
    )
