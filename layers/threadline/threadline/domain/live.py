"""The WebSocket API's rules: who may connect, what a connection may subscribe to.

A connection belongs to the tenant its bearer token proved at $connect (the authorizer's context); everything it
does afterwards runs as that tenant, looked up from the registry, never from anything the client sends. So a client
that names another tenant's conversation or session is told it does not exist; and even a subscription stored under
another tenant's id would only ever match events published for the connection's own tenant.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from uuid import UUID

import psycopg
from aws_lambda_powertools.metrics import MetricUnit

from threadline.db.repositories.realtime import (
    conversation_is_visible,
    delete_connections,
    delete_subscription,
    find_connection,
    find_session_id,
    insert_connection,
    insert_subscription,
)
from threadline.db.tenancy import run_in_transaction, set_transaction_tenant
from threadline.errors import Forbidden, InvalidRequest, NotFound, ThreadlineError
from threadline.models.frames import AnswerFrame, SubscriptionFrame
from threadline.models.ids import parse_uuid
from threadline.observability import logger, metrics
from threadline.realtime.actions import TopicAction, parse_action
from threadline.realtime.frames import error_frame, subscription_frame

# API Gateway closes every WebSocket connection after two hours.
CONNECTION_LIFETIME = timedelta(hours=2)
MAX_SUBSCRIPTIONS_PER_CONNECTION = 100
CONNECTION_GONE_MESSAGE = "This connection is not registered; reconnect"


def _tenant_of(authorizer: Mapping[str, Any]) -> UUID:
    try:
        return UUID(str(authorizer.get("tenantId") or ""))
    except ValueError:
        raise Forbidden("The token carries no valid tenant claim") from None


def register_connection(*, connection_id: str, authorizer: Mapping[str, Any]) -> None:
    """$connect: the authorizer (Lambda in AWS, the local gateway locally) verified the token and passed the
    tenant and user on in its context."""
    tenant_id = _tenant_of(authorizer)
    user_id = str(authorizer.get("userId") or authorizer.get("principalId") or "")
    run_in_transaction(
        lambda conn: insert_connection(
            conn, connection_id=connection_id, tenant_id=tenant_id, user_id=user_id, lifetime=CONNECTION_LIFETIME
        ),
        tenant_id=tenant_id,
    )
    metrics.add_metric(name="WebSocketConnections", unit=MetricUnit.Count, value=1)


def forget_connection(connection_id: str) -> None:
    """$disconnect: the connection and its subscriptions go."""

    def forget(conn: psycopg.Connection[Any]) -> None:
        connection = find_connection(conn, connection_id)
        if connection is not None:
            set_transaction_tenant(conn, connection.tenant_id)
            delete_connections(conn, [connection_id])

    run_in_transaction(forget)


def _apply(conn: psycopg.Connection[Any], connection_id: str, request: TopicAction) -> SubscriptionFrame:
    connection = find_connection(conn, connection_id)
    if connection is None:
        raise InvalidRequest(CONNECTION_GONE_MESSAGE)
    set_transaction_tenant(conn, connection.tenant_id)
    # From here on RLS answers for the connection's tenant: another tenant's conversation or session is not found.
    topic_id = request.topic_id
    if request.topic == "session":
        # Named by its id (wses_...) or its uuid; publishers name it by its id, so that is what is stored. A session
        # deleted since can still be unsubscribed from by the name the client used.
        found = find_session_id(conn, session_uuid=parse_uuid(request.topic_id), public_id=request.topic_id)
        if found is None and request.action == "subscribe":
            raise NotFound("Session not found")
        topic_id = found or request.topic_id
    if request.action == "unsubscribe":
        delete_subscription(conn, connection_id=connection_id, topic=request.topic, topic_id=topic_id)
        return subscription_frame("unsubscribed", request.topic, topic_id)
    if request.topic == "conversation" and not conversation_is_visible(conn, int(topic_id)):
        raise NotFound("Conversation not found")
    result = insert_subscription(
        conn,
        connection_id=connection_id,
        topic=request.topic,
        topic_id=topic_id,
        limit=MAX_SUBSCRIPTIONS_PER_CONNECTION,
    )
    if not result.connected:
        raise InvalidRequest(CONNECTION_GONE_MESSAGE)
    if not result.subscribed:
        raise InvalidRequest(
            f"A connection may hold at most {MAX_SUBSCRIPTIONS_PER_CONNECTION} subscriptions; unsubscribe first"
        )
    return subscription_frame("subscribed", request.topic, topic_id)


def answer_client_frame(connection_id: str, body: str | None) -> AnswerFrame:
    """A frame from the client (subscribe_session, subscribe_conversation, unsubscribe, or anything routed to
    $default, the seed's `type` frames among them): the frame to answer it with, an ack or an error."""
    action_name: str | None = None
    try:
        request = parse_action(body)
        action_name = request.name
        return run_in_transaction(lambda conn: _apply(conn, connection_id, request))
    except ThreadlineError as error:
        logger.info("client frame refused", extra={"action": action_name, "reason": error.message})
        return error_frame(error.message, action_name)
