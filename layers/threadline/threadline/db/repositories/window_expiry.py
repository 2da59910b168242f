"""The scheduled window expiry's one statement: a batch of `expire_closed_windows` (migrations 0003, 0018).

The job works across every tenant while connected as threadline_app, which sees no conversation without a tenant;
the SECURITY DEFINER function is its narrow door through RLS, and the caller's transaction is the batch's.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row


@dataclass(frozen=True)
class ExpiredConversationWindow:
    conversation_id: int
    contact_id: UUID
    window_expires_at: datetime


@dataclass(frozen=True)
class WindowExpiryBatch:
    windows_expired: int
    # Every window that closed up to now has been marked: no further batch is needed.
    caught_up: bool
    expired_through: datetime
    # Parallel arrays (one entry per window), filled only when the windows were asked for.
    tenant_ids: list[UUID] | None = field(default=None, repr=False)
    conversation_ids: list[int] | None = field(default=None, repr=False)
    contact_ids: list[UUID] | None = field(default=None, repr=False)
    window_expires_at: list[datetime] | None = field(default=None, repr=False)

    def windows_by_tenant(self) -> dict[UUID, list[ExpiredConversationWindow]]:
        """The conversations whose window this batch closed, by tenant (empty unless the windows were asked for)."""
        by_tenant: dict[UUID, list[ExpiredConversationWindow]] = defaultdict(list)
        rows = zip(
            self.tenant_ids or [],
            self.conversation_ids or [],
            self.contact_ids or [],
            self.window_expires_at or [],
            strict=True,
        )
        for tenant_id, conversation_id, contact_id, expires_at in rows:
            by_tenant[tenant_id].append(ExpiredConversationWindow(conversation_id, contact_id, expires_at))
        return dict(by_tenant)


def expire_window_batch(
    conn: psycopg.Connection[Any], *, batch_size: int, list_windows: bool = False
) -> WindowExpiryBatch:
    """Mark expired the next `batch_size` windows that have closed (all tenants) and move the job's progress mark."""
    # Binary results: a backlog's million ids load in a fraction of the time text parsing takes.
    with conn.cursor(row_factory=class_row(WindowExpiryBatch), binary=True) as cursor:
        batch = cursor.execute(
            "SELECT * FROM expire_closed_windows(%(batch_size)s, %(list_windows)s)",
            {"batch_size": batch_size, "list_windows": list_windows},
        ).fetchone()
    assert batch is not None  # the function always returns its one summary row
    return batch
