"""Tenant-scoped transactions: the tenant is set with SET LOCAL semantics, so it cannot leak past the
transaction into the next invocation that reuses the connection."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

import psycopg

from threadline.db.connection import app_connection, discard_app_connection
from threadline.db.errors import translate
from threadline.errors import Forbidden
from threadline.observability import logger

if TYPE_CHECKING:  # a domain value the transaction only names; the database layer does not depend on the domain
    from threadline.caller import Caller

T = TypeVar("T")

# A dropped connection, a failover, a deadlock or a serialization failure: nothing was committed, so running
# the whole unit of work again on a fresh connection is safe (every write path is idempotent by design).
_RETRYABLE = (psycopg.OperationalError,)
_ATTEMPTS = 6
# Concurrent writers that collided (deadlock, serialization failure) would collide again if retried in lockstep:
# each waits a random moment first.
_COLLISION_BACKOFF_SECONDS = 0.05
# A dropped connection or a database that refuses them (a restart, a failover's first moments): retried back to
# back, every attempt fell inside an outage of a few tens of milliseconds. Each wait doubles, 1.55 s in all, so a
# brief outage is ridden out and one that lasts is still a 500 well inside the request's time.
_OUTAGE_BACKOFF_SECONDS = (0.05, 0.1, 0.2, 0.4, 0.8)

UNKNOWN_TENANT_MESSAGE = "Forbidden: the token's tenant does not exist"
# Tenants this container has seen exist. A token's tenant claim is signed, but it may name a tenant that was never
# created (another environment's, a typo in the identity provider): unchecked, reads answered 200 and empty and
# writes a 500 (a foreign key). Checking costs one indexed read per tenant per container, not per request; a tenant
# deleted later stays cached until the container recycles, and its deletion cascaded its rows away anyway.
_known_tenants: set[str] = set()


def run_in_transaction(
    work: Callable[[psycopg.Connection[Any]], T],
    *,
    tenant_id: UUID | str | None = None,
    actor: Caller | None = None,
) -> T:
    """Run `work` in one transaction, as `tenant_id` when given, retrying on a fresh connection when the
    database dropped us or rolled us back. `actor` (the agent making the change) is named in the events the
    transaction appends (migration 0015 reads `app.actor`). What the database still refuses after the retries is
    raised as threadline.db.errors' StorageError, never as the driver's exception."""
    try:
        return _run_with_retries(work, tenant_id=tenant_id, actor=actor)
    except psycopg.Error as error:
        raise translate(error) from error


def _run_with_retries(
    work: Callable[[psycopg.Connection[Any]], T], *, tenant_id: UUID | str | None, actor: Caller | None
) -> T:
    for attempt in range(1, _ATTEMPTS + 1):
        conn = app_connection()
        try:
            with conn.transaction():
                if tenant_id is not None:
                    set_transaction_tenant(conn, tenant_id, actor=actor)
                    _require_existing_tenant(conn, str(tenant_id))
                return work(conn)
        except _RETRYABLE as error:
            if conn.broken or conn.closed:
                discard_app_connection()
            if attempt == _ATTEMPTS:
                raise
            logger.warning("retrying transaction", extra={"attempt": attempt, "error": type(error).__name__})
            if isinstance(error, psycopg.errors.TransactionRollback):
                time.sleep(random.uniform(0, _COLLISION_BACKOFF_SECONDS * attempt))  # noqa: S311 - jitter, not a secret
            else:
                time.sleep(_OUTAGE_BACKOFF_SECONDS[attempt - 1])
    raise AssertionError("unreachable")


def _require_existing_tenant(conn: psycopg.Connection[Any], tenant_id: str) -> None:
    if tenant_id in _known_tenants:
        return
    # RLS shows the transaction's own tenant row only, and only when it exists.
    row = conn.execute("SELECT EXISTS (SELECT 1 FROM tenants WHERE id = %s::uuid)", (tenant_id,)).fetchone()
    if not (row and row[0]):
        raise Forbidden(UNKNOWN_TENANT_MESSAGE)
    _known_tenants.add(tenant_id)


def set_transaction_tenant(
    conn: psycopg.Connection[Any], tenant_id: UUID | str, *, actor: Caller | None = None
) -> None:
    """Scope the rest of the current transaction to `tenant_id` (for work that learns its tenant mid-way,
    such as a connector authenticated by API key), and name its `actor` for the event log (one statement)."""
    conn.execute(
        "SELECT set_config('app.tenant_id', %s, true), set_config('app.actor', %s, true)",
        (str(tenant_id), _actor_json(actor)),
    )


def _actor_json(actor: Caller | None) -> str:
    """Who the events of this transaction name: an agent (a token with a user), a service token, or nobody ('': a
    connector, Meta, the system)."""
    if actor is None:
        return ""
    if actor.user_id is None:
        return json.dumps({"type": "service", "id": None, "name": actor.token_name})
    return json.dumps({"type": "agent", "id": str(actor.user_id), "name": actor.token_name})
