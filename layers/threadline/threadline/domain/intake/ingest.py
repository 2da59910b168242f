"""Messaging ingest: authenticate the connector, then store its conversations in one set-based write.

Order of checks follows the seed: the x-api-key header, the body, the connection (exists and matches the
platform), the key, the connection's active flag. Nothing is written unless all of them pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import psycopg
from aws_lambda_powertools.metrics import MetricUnit

from threadline.db.errors import RowsRefused
from threadline.db.repositories.connections import ConnectionForAuth, find_connection_for_auth
from threadline.db.repositories.ingest import ConversationBatch, StoredConversation, store_conversation_batch
from threadline.db.repositories.lifecycle import InboundFollowUp, Reopened, find_inbound_follow_up
from threadline.db.repositories.media import record_linked_media
from threadline.db.tenancy import run_in_transaction, set_transaction_tenant
from threadline.delivery.outbox import hand_over_deliveries
from threadline.domain.intake.inbound import after_inbound_committed, reopen_for_ingested
from threadline.domain.intake.secrets import api_secret_matches
from threadline.domain.media.handover import hand_over_media
from threadline.errors import Forbidden, Unauthorized
from threadline.identifiers import normalise_identifier
from threadline.models.ingest import IngestConversation, IngestRequest, IngestResponse, IngestResult
from threadline.observability import logger, metrics
from threadline.realtime.publisher import IngestedConversation, publish_ingested_messages
from threadline.vocabulary import PREVIEW_CHARS


def authorise_connector(conn: psycopg.Connection[Any], api_key: str, request: IngestRequest) -> ConnectionForAuth:
    return authorise_connection(conn, api_key, platform=request.platform, connection_id=request.connection_id)


def authorise_connection(
    conn: psycopg.Connection[Any], api_key: str, *, platform: str, connection_id: str
) -> ConnectionForAuth:
    """The seed's checks after the body's: the connection exists on that platform, the key is its, it is active."""
    connection = find_connection_for_auth(conn, connection_id)
    if connection is None or connection.platform != platform:
        raise Unauthorized("Invalid connection_id or platform")
    if not api_secret_matches(api_key, connection.api_secret_sha256):
        raise Unauthorized("Invalid API key")
    if not connection.is_active:
        raise Forbidden("Connection is inactive")
    return connection


def build_batch(conversations: list[IngestConversation]) -> ConversationBatch:
    """Column-wise rows for the repository, with each conversation's newest message and newest inbound message
    worked out here so the database applies them in one pass."""
    batch = ConversationBatch()
    for conversation in sorted(conversations, key=lambda c: c.external_conversation_id):
        participant = normalise_identifier(conversation.participant_identifier)
        newest = max(conversation.messages, key=lambda m: m.sent_at, default=None)
        newest_inbound_at = max((m.sent_at for m in conversation.messages if m.direction == "inbound"), default=None)
        batch.conversation_external_ids.append(conversation.external_conversation_id)
        batch.conversation_identifiers.append(participant.identifier)
        batch.conversation_phone_digits.append(participant.phone_digits)
        batch.conversation_participant_names.append(conversation.participant_name)
        batch.conversation_last_message_at.append(newest.sent_at if newest else None)
        batch.conversation_last_message_preview.append(newest.content[:PREVIEW_CHARS] if newest else None)
        batch.conversation_last_inbound_at.append(newest_inbound_at)
        for message in conversation.messages:
            batch.message_conversation_external_ids.append(conversation.external_conversation_id)
            batch.message_external_ids.append(message.id)
            batch.message_directions.append(message.direction)
            batch.message_types.append(message.type)
            batch.message_contents.append(message.content)
            batch.message_media_urls.append(message.media_url)
            batch.message_sent_at.append(message.sent_at)
    return batch


def _result_for(stored: StoredConversation) -> IngestResult:
    if stored.created:
        status = "created"
    elif stored.messages_added:
        status = "updated"
    else:
        status = "no_new_messages"
    return IngestResult(
        conversation_id=stored.conversation_id,
        external_conversation_id=stored.external_conversation_id,
        messages_added=stored.messages_added,
        status=status,
    )


def _store_one_by_one(
    conn: psycopg.Connection[Any], connection: ConnectionForAuth, request: IngestRequest
) -> tuple[dict[str, IngestResult], set[int]]:
    """The slow path, taken only when the batch as a whole was refused: each conversation in its own savepoint,
    so one bad conversation is reported as `error: ...` and the others are still stored. Also returns the
    conversations that may be re-opened."""
    results: dict[str, IngestResult] = {}
    reopenable: set[int] = set()
    for conversation in request.conversations:
        try:
            with conn.transaction():
                stored = store_conversation_batch(
                    conn,
                    tenant_id=connection.tenant_id,
                    connection_uuid=connection.id,
                    platform=request.platform,
                    batch=build_batch([conversation]),
                )
            results[conversation.external_conversation_id] = _result_for(stored[0])
            if stored[0].reopenable:
                reopenable.add(stored[0].conversation_id)
        except RowsRefused as error:
            logger.warning(
                "conversation refused", extra={"external_conversation_id": conversation.external_conversation_id}
            )
            results[conversation.external_conversation_id] = IngestResult(
                conversation_id=None,
                external_conversation_id=conversation.external_conversation_id,
                messages_added=0,
                status=f"error: {error.reason}",
            )
    return results, reopenable


@dataclass(frozen=True)
class _Stored:
    tenant_id: UUID
    results_by_id: dict[str, IngestResult]
    reopened: list[Reopened]
    follow_up: InboundFollowUp
    # Media the copy step owes (a connection with copy_media on), handed over after the commit.
    media_message_ids: list[int] = field(default_factory=list)


def require_api_key(api_key: str | None) -> str:
    """The seed checks the header before the body: a request without a key is a 401 whatever its body."""
    if not api_key:
        raise Unauthorized("Missing x-api-key header")
    return api_key


def ingest_conversations(*, api_key: str, request: IngestRequest) -> IngestResponse:
    def authorise_and_scope(conn: psycopg.Connection[Any]) -> tuple[ConnectionForAuth, InboundFollowUp]:
        connection = authorise_connector(conn, api_key, request)
        with conn.pipeline():  # the tenant and the follow-up read travel in one round trip
            set_transaction_tenant(conn, connection.tenant_id)
            return connection, find_inbound_follow_up(conn, connection.tenant_id)

    def store_whole_batch(conn: psycopg.Connection[Any]) -> _Stored:
        connection, follow_up = authorise_and_scope(conn)
        stored = store_conversation_batch(
            conn,
            tenant_id=connection.tenant_id,
            connection_uuid=connection.id,
            platform=request.platform,
            batch=build_batch(request.conversations),
        )
        results_by_id = {row.external_conversation_id: _result_for(row) for row in stored}
        reopenable = {row.conversation_id for row in stored if row.reopenable}
        reopened = _reopen(conn, connection.tenant_id, results_by_id, reopenable)
        media = _linked_media(conn, connection, results_by_id)
        return _Stored(connection.tenant_id, results_by_id, reopened, follow_up, media)

    def store_conversation_by_conversation(conn: psycopg.Connection[Any]) -> _Stored:
        connection, follow_up = authorise_and_scope(conn)
        results_by_id, reopenable = _store_one_by_one(conn, connection, request)
        reopened = _reopen(conn, connection.tenant_id, results_by_id, reopenable)
        media = _linked_media(conn, connection, results_by_id)
        return _Stored(connection.tenant_id, results_by_id, reopened, follow_up, media)

    def _linked_media(
        conn: psycopg.Connection[Any], connection: ConnectionForAuth, results_by_id: dict[str, IngestResult]
    ) -> list[int]:
        # Only a request that carries media_urls pays this statement (and it writes only for a connection that
        # copies media: `--copy-media on`).
        linked = [
            (result.conversation_id, message.id)
            for conversation in request.conversations
            if (result := results_by_id[conversation.external_conversation_id]).conversation_id is not None
            and result.messages_added > 0
            for message in conversation.messages
            if message.media_url
        ]
        if not linked:
            return []
        return record_linked_media(
            conn,
            tenant_id=connection.tenant_id,
            connection_uuid=connection.id,
            conversation_ids=[conversation_id for conversation_id, _ in linked if conversation_id is not None],
            external_ids=[external_id for _, external_id in linked],
        )

    def _reopen(
        conn: psycopg.Connection[Any], tenant_id: UUID, results_by_id: dict[str, IngestResult], reopenable: set[int]
    ) -> list[Reopened]:
        # A customer's new message re-opens a resolved or snoozed conversation, in this same transaction. Only a
        # conversation the store found resolved or snoozed can be one: for the others, no query at all.
        inbound = [
            (result.conversation_id, message.id)
            for conversation in request.conversations
            if (result := results_by_id[conversation.external_conversation_id]).conversation_id in reopenable
            and result.messages_added > 0
            and result.status != "created"
            for message in conversation.messages
            if message.direction == "inbound"
        ]
        return reopen_for_ingested(conn, tenant_id, inbound) if inbound else []

    try:
        done = run_in_transaction(store_whole_batch)
    except RowsRefused:
        # The database refused something in the batch (nothing was written): find out which conversation.
        logger.warning("batch refused; storing conversation by conversation")
        done = run_in_transaction(store_conversation_by_conversation)
    results = [done.results_by_id[conversation.external_conversation_id] for conversation in request.conversations]
    metrics.add_metric(name="MessagesIngested", unit=MetricUnit.Count, value=sum(r.messages_added for r in results))
    # Committed: now the subscribers may hear of it (never raises), unless the tenant had none to hear.
    if done.follow_up.anyone_subscribed:
        publish_ingested_messages(done.tenant_id, _ingested(request, results))  # hands deliveries over too
    elif done.follow_up.anyone_hooked:
        hand_over_deliveries(done.tenant_id)
    if done.media_message_ids:
        hand_over_media(done.tenant_id, done.media_message_ids)
    created = sorted({r.conversation_id for r in results if r.status == "created" and r.conversation_id is not None})
    if created or done.reopened:
        after_inbound_committed(done.tenant_id, created=created, reopened=done.reopened, follow_up=done.follow_up)
    return IngestResponse(processed=len(results), results=results)


def _ingested(request: IngestRequest, results: list[IngestResult]) -> list[IngestedConversation]:
    return [
        IngestedConversation(
            conversation_id=result.conversation_id,
            messages_added=result.messages_added,
            message_external_ids=[message.id for message in conversation.messages],
        )
        for conversation, result in zip(request.conversations, results, strict=True)
        if result.conversation_id is not None and result.messages_added > 0
    ]
