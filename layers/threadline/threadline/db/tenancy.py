"""Tenant-scoped transactions: the tenant is set with SET LOCAL semantics, so it cannot leak past the
transaction into the next invocation that reuses the connection."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID

import psycopg

from threadline.db.connection import app_connection, discard_app_connection
from threadline.observability import logger

T = TypeVar("T")

# A dropped connection, a failover, a deadlock or a serialization failure: nothing was committed, so running
# the whole unit of work again on a fresh connection is safe (every write path is idempotent by design).
_RETRYABLE = (psycopg.OperationalError,)
_ATTEMPTS = 4
# Concurrent writers that collided (deadlock, serialization failure) would collide again if retried in lockstep:
# each waits a random moment first.
_COLLISION_BACKOFF_SECONDS = 0.05


def run_in_transaction(work: Callable[[psycopg.Connection[Any]], T], *, tenant_id: UUID | str | None = None) -> T:
    """Run `work` in one transaction, as `tenant_id` when given, retrying on a fresh connection when the
    database dropped us or rolled us back."""
    for attempt in range(1, _ATTEMPTS + 1):
        conn = app_connection()
        try:
            with conn.transaction():
                if tenant_id is not None:
                    set_transaction_tenant(conn, tenant_id)
                return work(conn)
        except _RETRYABLE as error:
            if conn.broken or conn.closed:
                discard_app_connection()
            if attempt == _ATTEMPTS:
                raise
            logger.warning("retrying transaction", extra={"attempt": attempt, "error": type(error).__name__})
            if isinstance(error, psycopg.errors.TransactionRollback):
                time.sleep(random.uniform(0, _COLLISION_BACKOFF_SECONDS * attempt))  # noqa: S311 - jitter, not a secret
    raise AssertionError("unreachable")


def set_transaction_tenant(conn: psycopg.Connection[Any], tenant_id: UUID | str) -> None:
    """Scope the rest of the current transaction to `tenant_id` (for work that learns its tenant mid-way,
    such as a connector authenticated by API key)."""
    conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant_id),))
