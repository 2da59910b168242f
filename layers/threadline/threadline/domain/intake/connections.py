"""Connector connections: creation (the API secret is returned once and only its digest is kept), deactivation, and
each connection's reply rule (its channel's default at creation: threadline.channels)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from enum import Enum
from typing import Any
from uuid import UUID

import psycopg

from threadline.channels import default_reply_rule
from threadline.db.repositories.connections import (
    ConnectionRecord,
    find_connection,
    insert_connection,
    set_connection_active,
    set_reply_rule,
    update_api_secret_digest,
)
from threadline.db.repositories.message_templates import set_connection_waba
from threadline.domain.intake.secrets import digest_api_secret, generate_api_secret
from threadline.errors import InvalidRequest, NotFound
from threadline.vocabulary import PLATFORMS

_CONNECTION_ID_SHAPE = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")
# As migration 0018's CHECKs: a window up to a year, a cap up to 100,000 replies.
MAX_REPLY_WINDOW_HOURS = 8760
MAX_REPLIES_PER_WINDOW = 100_000


class Unchanged(Enum):
    """An option not given: at creation the channel's default, on an update the connection's current value."""

    UNCHANGED = "unchanged"


UNCHANGED = Unchanged.UNCHANGED
# A rule setting: a number, None ("none": no window, no cap), or UNCHANGED.
RuleSetting = int | None | Unchanged


def _checked(value: RuleSetting, *, name: str, maximum: int) -> RuleSetting:
    if isinstance(value, int) and not 1 <= value <= maximum:
        raise InvalidRequest(f"{name} must be 1 to {maximum}, or none")
    return value


@dataclass(frozen=True)
class CreatedConnection:
    connection: ConnectionRecord
    api_secret: str


def create_connection(
    conn: psycopg.Connection[Any],
    *,
    tenant_id: UUID,
    platform: str,
    connection_id: str | None = None,
    phone_number_id: str | None = None,
    reply_window_hours: RuleSetting = UNCHANGED,
    max_replies_per_window: RuleSetting = UNCHANGED,
) -> CreatedConnection:
    if platform not in PLATFORMS:
        raise InvalidRequest(f"platform must be one of {', '.join(PLATFORMS)}")
    default = default_reply_rule(platform)
    hours = _checked(reply_window_hours, name="reply_window_hours", maximum=MAX_REPLY_WINDOW_HOURS)
    cap = _checked(max_replies_per_window, name="max_replies_per_window", maximum=MAX_REPLIES_PER_WINDOW)
    connection_id = connection_id or f"{platform}_{secrets.token_hex(6)}"
    if not _CONNECTION_ID_SHAPE.match(connection_id):
        raise InvalidRequest("connection id: 1-200 letters, digits, '_', '.', ':' or '-'")
    api_secret = generate_api_secret()
    record = insert_connection(
        conn,
        tenant_id=tenant_id,
        connection_id=connection_id,
        platform=platform,
        api_secret_sha256=digest_api_secret(api_secret),
        phone_number_id=phone_number_id,
        reply_window_hours=default.window_hours if hours is UNCHANGED else hours,
        max_replies_per_window=default.max_replies if cap is UNCHANGED else cap,
    )
    return CreatedConnection(connection=record, api_secret=api_secret)


def update_reply_rule(
    conn: psycopg.Connection[Any],
    connection_id: str,
    *,
    reply_window_hours: RuleSetting = UNCHANGED,
    max_replies_per_window: RuleSetting = UNCHANGED,
) -> ConnectionRecord:
    """Change the connection's reply rule; the windows of its conversations follow at once (see set_reply_rule)."""
    hours = _checked(reply_window_hours, name="reply_window_hours", maximum=MAX_REPLY_WINDOW_HOURS)
    cap = _checked(max_replies_per_window, name="max_replies_per_window", maximum=MAX_REPLIES_PER_WINDOW)
    current = find_connection(conn, connection_id)
    if current is None:
        raise NotFound(f"No connection {connection_id}")
    record = set_reply_rule(
        conn,
        connection_id,
        reply_window_hours=current.reply_window_hours if hours is UNCHANGED else hours,
        max_replies_per_window=current.max_replies_per_window if cap is UNCHANGED else cap,
    )
    if record is None:
        raise NotFound(f"No connection {connection_id}")
    return record


def set_waba_id(conn: psycopg.Connection[Any], connection_id: str, waba_id: str | None) -> ConnectionRecord:
    """Record the WhatsApp Business Account whose templates the connection sends (None forgets it)."""
    current = find_connection(conn, connection_id)
    if current is None:
        raise NotFound(f"No connection {connection_id}")
    if waba_id is not None and current.platform != "whatsapp":
        raise InvalidRequest(f"--waba-id is for WhatsApp connections; {connection_id} is {current.platform}")
    if waba_id is not None and (not waba_id.isdigit() or len(waba_id) > 64):
        raise InvalidRequest("a WhatsApp Business Account id is 1 to 64 digits")
    set_connection_waba(conn, connection_id, waba_id)
    record = find_connection(conn, connection_id)
    assert record is not None
    return record


def deactivate_connection(conn: psycopg.Connection[Any], connection_id: str) -> ConnectionRecord:
    record = set_connection_active(conn, connection_id, is_active=False)
    if record is None:
        raise NotFound(f"No connection {connection_id}")
    return record


def rotate_api_secret(conn: psycopg.Connection[Any], connection_id: str) -> str:
    api_secret = generate_api_secret()
    if not update_api_secret_digest(conn, connection_id, digest_api_secret(api_secret)):
        raise NotFound(f"No connection {connection_id}")
    return api_secret
