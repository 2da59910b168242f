"""The customer writes again: what an inbound write (ingest, Meta's webhook) does to the inbox besides storing.

Rules:
- In the write's transaction, a customer's new message re-opens a resolved or snoozed conversation (with an
  activity message saying so).
- After the commit, new and re-opened conversations are announced to subscribers, then auto-assigned (a re-opened
  one whose assignee is offline goes to an online agent). Neither step may fail the write.
- Whether those steps have anything to do is read inside the transaction (threadline.db.repositories.lifecycle
  `find_inbound_follow_up`): a tenant without auto-assignment anywhere, or without any WebSocket subscription, pays
  no query after the commit for them.

Kept apart from threadline.domain.inbox.lifecycle (an agent's PATCH, snooze wake-ups), so the inbound functions load
only what these rules use.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import psycopg

from threadline.db.repositories.lifecycle import (
    InboundFollowUp,
    Reopened,
    reopen_after_inbound_messages,
    reopen_after_ingested_messages,
)
from threadline.domain.inbox import activity
from threadline.domain.inbox.activity import ChangeNotice, announce
from threadline.domain.inbox.auto_assignment import auto_assign
from threadline.observability import logger


def reopen_for_ingested(
    conn: psycopg.Connection[Any], tenant_id: UUID, inbound: Sequence[tuple[int, str]]
) -> list[Reopened]:
    """In the ingest's transaction: re-open the resolved or snoozed conversations among (conversation id, inbound
    message external id) pairs whose message this transaction stored."""
    return reopen_after_ingested_messages(
        conn,
        tenant_id=tenant_id,
        conversation_ids=[conversation_id for conversation_id, _ in inbound],
        inbound_external_ids=[external_id for _, external_id in inbound],
        content=activity.REOPENED_BY_CUSTOMER,
    )


def reopen_for_inbound_messages(
    conn: psycopg.Connection[Any], tenant_id: UUID, message_ids: Sequence[int]
) -> list[Reopened]:
    """In the webhook's transaction: re-open the conversations of these just-stored inbound messages."""
    return reopen_after_inbound_messages(
        conn, tenant_id=tenant_id, message_ids=message_ids, content=activity.REOPENED_BY_CUSTOMER
    )


def after_inbound_committed(
    tenant_id: UUID,
    *,
    created: Sequence[int],
    reopened: Sequence[Reopened],
    follow_up: InboundFollowUp | None = None,
) -> None:
    """After an inbound write committed: announce new and re-opened conversations, then auto-assign them. With
    `follow_up` (read in the write's transaction), a step it says nobody needs is skipped. Never raises."""
    try:
        if follow_up is None or follow_up.anyone_subscribed:
            notices = [
                ChangeNotice(conversation_id, 1, {"status": "open"}, None, "created") for conversation_id in created
            ] + [activity.reopen_notice(each) for each in reopened]
            announce(tenant_id, notices)
        if follow_up is None or follow_up.auto_assigns:
            auto_assign(tenant_id, [*created, *(each.conversation_id for each in reopened)], reassign_offline=True)
    except Exception:
        logger.exception("announcing or assigning inbound conversations failed; the scheduled run assigns them")
