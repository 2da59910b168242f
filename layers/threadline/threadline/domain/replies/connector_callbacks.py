"""Connector callbacks: a connection's outbound endpoint (its URL and signing secret) and the "connection" delivery
target that carries agents' replies to it (docs/connector-callbacks.md).

The URL is checked by the same rules as a webhook's (threadline.delivery.addresses: https, no private, link-local or
metadata address; each attempt resolves and checks again). The signing secret is shown once, stored sealed
(AES-GCM bound to the connection's id) and rotatable: the previous secret keeps signing beside the new one for
ROTATION_OVERLAP, as a webhook's does. The target's behaviour: a 2xx answer makes the reply `sent`, under the
platform's id when the answer's body names it (`{"external_id": "..."}`); a delivery given up fails it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import psycopg

from threadline.db.errors import ExternalIdTaken
from threadline.db.repositories.connector_callbacks import (
    ConnectionEndpoint,
    complete_connector_reply,
    fail_undelivered_reply,
    find_connection_endpoint,
    find_connection_endpoint_by_name,
    rotate_outbound_secret,
    set_outbound_endpoint,
)
from threadline.db.repositories.deliveries import DeliveryRow
from threadline.delivery.addresses import AddressRefused, check_url
from threadline.delivery.secret_box import decrypt_secret, encrypt_secret, generate_signing_secret
from threadline.delivery.signing import ROTATION_OVERLAP
from threadline.delivery.targets import AfterCommit, Endpoint
from threadline.delivery.transport import Answer
from threadline.errors import InvalidRequest, NotFound
from threadline.observability import logger
from threadline.realtime.publisher import publish_stored_messages

MAX_PLATFORM_ID_CHARS = 256


def _sealed_for(connection_uuid: UUID) -> str:
    # The associated data of the connection's ciphertexts: they decrypt only as this row's.
    return f"connection:{connection_uuid}"


@dataclass(frozen=True)
class OutboundEndpoint:
    connection_id: str
    platform: str
    outbound_url: str | None
    # Shown once: when the connection got its first secret, or a rotation made a new one.
    outbound_secret: str | None = None
    previous_secret_expires_at: datetime | None = None


def _checked_url(url: str) -> str:
    try:
        check_url(url)
    except AddressRefused as refused:
        raise InvalidRequest(str(refused).replace("url:", "outbound_url:", 1)) from None
    return url


def set_outbound_url(conn: psycopg.Connection[Any], connection_id: str, url: str | None) -> OutboundEndpoint:
    """Where the connection's replies go (None: nowhere, replies are refused). The first URL gives the connection
    its signing secret, returned this once; a later URL keeps the secret."""
    if url is not None:
        _checked_url(url)
    current = find_connection_endpoint_by_name(conn, connection_id)
    if current is None:
        raise NotFound(f"No connection {connection_id}")
    secret = None
    if url is not None and current.outbound_secret_ciphertext is None:
        secret = generate_signing_secret()
    sealed = encrypt_secret(secret, bound_to=_sealed_for(current.id)) if secret is not None else None
    row = set_outbound_endpoint(conn, current.id, url=url, secret_ciphertext=sealed)
    return OutboundEndpoint(row.connection_id, row.platform, row.outbound_url, outbound_secret=secret)


def rotate_outbound_signing_secret(
    conn: psycopg.Connection[Any], connection_id: str, *, now: datetime | None = None
) -> OutboundEndpoint:
    current = find_connection_endpoint_by_name(conn, connection_id)
    if current is None:
        raise NotFound(f"No connection {connection_id}")
    if current.outbound_secret_ciphertext is None:
        raise InvalidRequest(f"The connection {connection_id} has no signing secret yet: set its --outbound-url first")
    secret = generate_signing_secret()
    expires_at = (now or datetime.now(UTC)) + ROTATION_OVERLAP
    row = rotate_outbound_secret(
        conn,
        current.id,
        secret_ciphertext=encrypt_secret(secret, bound_to=_sealed_for(current.id)),
        previous_expires_at=expires_at,
    )
    return OutboundEndpoint(
        row.connection_id, row.platform, row.outbound_url, outbound_secret=secret, previous_secret_expires_at=expires_at
    )


def signing_secrets(row: ConnectionEndpoint, now: datetime) -> list[str]:
    """Every secret that signs now, newest first (two during a rotation's 24 hours)."""
    if row.outbound_secret_ciphertext is None:
        return []
    bound = _sealed_for(row.id)
    secrets = [decrypt_secret(row.outbound_secret_ciphertext, bound_to=bound)]
    previous, expires_at = row.previous_outbound_secret_ciphertext, row.previous_outbound_secret_expires_at
    if previous is not None and expires_at is not None and expires_at > now:
        secrets.append(decrypt_secret(previous, bound_to=bound))
    return secrets


def _reply_of(delivery: DeliveryRow) -> int:
    # The body is ours (threadline.channels.connector.outbound_data), fixed when the reply was stored.
    return int(json.loads(delivery.body)["data"]["message_id"])


def platform_id_in(answer: Answer) -> str | None:
    """The platform's message id in a connector's 2xx body (`{"external_id": "..."}`), when it names a usable one:
    anything else (no body, not JSON, no such field) still means the connector took the reply."""
    try:
        parsed = json.loads(answer.body.decode("utf-8")) if answer.body.strip() else None
    except (UnicodeDecodeError, ValueError):
        return None
    value = parsed.get("external_id") if isinstance(parsed, dict) else None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # Telegram's ids are numbers
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value or len(value) > MAX_PLATFORM_ID_CHARS or "\x00" in value:
        return None
    return value


def _frame_after_commit(tenant_id: UUID, message_id: int | None) -> AfterCommit:
    if message_id is None:
        return None
    return lambda: publish_stored_messages(tenant_id, "status", [message_id])


class ConnectionTarget:
    """Deliveries of agents' replies to a connection's outbound_url."""

    def load_endpoint(self, conn: psycopg.Connection[Any], target_id: UUID, now: datetime) -> Endpoint | None:
        row = find_connection_endpoint(conn, target_id)
        if row is None or row.outbound_url is None:
            return None
        return Endpoint(url=row.outbound_url, secrets=signing_secrets(row, now), active=row.is_active)

    def on_delivered(self, conn: psycopg.Connection[Any], delivery: DeliveryRow, answer: Answer) -> AfterCommit:
        message_id, platform_id = _reply_of(delivery), platform_id_in(answer)
        try:
            with conn.transaction():
                changed = complete_connector_reply(conn, message_id, platform_id)
        except ExternalIdTaken:
            # The id already names another message of the conversation (not a synced copy of this reply): the
            # reply is still sent, under its own id, rather than failing the delivery's record on every retry.
            logger.warning(
                "the connector's platform id names another message; the reply keeps its own",
                extra={"message_id": message_id, "delivery_id": str(delivery.id)},
            )
            changed = complete_connector_reply(conn, message_id, None)
        return _frame_after_commit(delivery.tenant_id, changed)

    def on_gone(self, conn: psycopg.Connection[Any], delivery: DeliveryRow) -> AfterCommit:
        return None  # a 410 ends this reply's delivery (on_dead fails it); the connection stays as configured

    def on_dead(self, conn: psycopg.Connection[Any], delivery: DeliveryRow) -> AfterCommit:
        failed = fail_undelivered_reply(conn, _reply_of(delivery), delivery_id=delivery.id)
        return _frame_after_commit(delivery.tenant_id, failed)
