"""Keeping an account's templates in sync with Meta: every page of the WABA's template list replaces what was stored
(templates Meta no longer lists are removed), in one transaction per account, after the whole list was read: a list
that fails half-way changes nothing. `threadline templates sync` and the scheduled run call it."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from uuid import UUID

import psycopg

from threadline.channels.whatsapp.templates import fetch_account_templates
from threadline.db.repositories.message_templates import (
    connection_accounts,
    replace_account_templates,
    template_sync_accounts,
)
from threadline.db.tenancy import run_in_transaction
from threadline.errors import NotFound, UpstreamFailure
from threadline.models.templates import TemplateSyncResult
from threadline.observability import logger

# Time kept back from the scheduled run's deadline: an account's list is not started with less than this left.
SYNC_RESERVE_MS = 5_000
# An account is listed again once its last sync is this old: the webhooks keep its templates current meanwhile, and
# a run every few minutes need not call Meta for every account every time.
RESYNC_AFTER = timedelta(hours=1)
# Accounts one run syncs at the most (the longest unsynced first); the next runs take the rest.
ACCOUNTS_PER_RUN = 50


def sync_account_templates(tenant_id: UUID, waba_id: str, *, deadline: float | None = None) -> TemplateSyncResult:
    records = fetch_account_templates(waba_id, deadline=deadline)
    replaced = run_in_transaction(
        lambda conn: replace_account_templates(conn, tenant_id=tenant_id, waba_id=waba_id, records=records),
        tenant_id=tenant_id,
    )
    return TemplateSyncResult(waba_id=waba_id, templates=replaced.templates, removed=replaced.removed)


def sync_connection_templates(conn: psycopg.Connection[Any], connection_id: str | None) -> list[TemplateSyncResult]:
    """The admin CLI: one connection's account (or every account recorded by a connection). `conn` is the admin
    connection that finds them; each account is then written in its own tenant's transaction."""
    accounts = connection_accounts(conn, connection_id)
    if connection_id is not None and not accounts:
        raise NotFound(f"No connection {connection_id} with a WhatsApp Business Account (--waba-id)")
    return [sync_account_templates(tenant_id, waba_id) for tenant_id, waba_id in accounts]


def sync_all_templates(*, remaining_time_ms: Callable[[], int] | None = None) -> dict[str, int]:
    """The scheduled run's step: the accounts due a sync (never synced, or not for RESYNC_AFTER), the longest due
    first, one after the other; each failure is logged and the next account tried."""
    synced_before = datetime.now(UTC) - RESYNC_AFTER
    accounts = run_in_transaction(partial(template_sync_accounts, synced_before=synced_before, limit=ACCOUNTS_PER_RUN))
    synced = failed = 0
    for tenant_id, waba_id in accounts:
        if remaining_time_ms is not None and remaining_time_ms() < SYNC_RESERVE_MS:
            break
        deadline = None if remaining_time_ms is None else time.monotonic() + remaining_time_ms() / 1000 - 1
        try:
            sync_account_templates(tenant_id, waba_id, deadline=deadline)
            synced += 1
        except UpstreamFailure as error:
            failed += 1
            logger.warning(
                "template sync failed; the next run tries again",
                extra={"tenant_id": str(tenant_id), "waba_id": waba_id, "error": str(error)},
            )
    return {"accounts_synced": synced, "accounts_failed": failed}
