"""The inbox counts: how many conversations are mine, unassigned and in all, per status (and per team).

Exact and independent of the tenant's size: migration 0014's triggers append a delta row for every conversation
created, deleted, or moved between (status, assignee, team) keys, whoever writes it (ingest, the webhook, an agent's
change, the scheduler, an admin's raw UPDATE); a read sums the tenant's rows. Why a ledger and not counter rows:
appends never wait on each other, counter rows would serialise (and, in opposite orders, deadlock) the concurrent
ingests of a tenant; `make bench-read` measures the read beside an exact count(*).

The scheduled function compacts the ledger (`compact_inbox_counts`), so a read sums about one row per key in use
plus what was written since the last run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from threadline.caller import Caller
from threadline.db.repositories.inbox_counts import (
    compact_count_deltas,
    sum_inbox_counts,
    sum_team_counts,
)
from threadline.db.tenancy import run_in_transaction
from threadline.models.conversations import InboxCounts, InboxCountsQuery, TeamCounts
from threadline.observability import logger


def read_inbox_counts(caller: Caller, query: InboxCountsQuery) -> InboxCounts:
    """A token without an agent has no "mine": it is null rather than a misleading 0."""
    statuses: list[str] = list(query.status)

    def read(conn: psycopg.Connection[Any]) -> InboxCounts:
        counts = sum_inbox_counts(conn, tenant_id=caller.tenant_id, statuses=statuses, agent_id=caller.user_id)
        teams = None
        if query.teams:
            teams = [
                TeamCounts(id=row.id, name=row.name, all=row.all, unassigned=row.unassigned)
                for row in sum_team_counts(conn, tenant_id=caller.tenant_id, statuses=statuses)
            ]
        return InboxCounts(
            status=list(query.status),
            mine=counts.mine if caller.user_id is not None else None,
            unassigned=counts.unassigned,
            all=counts.all,
            teams=teams,
        )

    return run_in_transaction(read, tenant_id=caller.tenant_id)


@dataclass(frozen=True)
class CountsCompaction:
    rows_before: int
    rows_after: int

    def as_dict(self) -> dict[str, int]:
        return {"rows_before": self.rows_before, "rows_after": self.rows_after}


def compact_inbox_counts() -> CountsCompaction:
    """A step of the scheduled function: every tenant's ledger replaced by its sums (one statement, see 0014)."""
    compaction = run_in_transaction(compact_count_deltas)
    logger.info("inbox counts compacted", extra=compaction.__dict__)
    return CountsCompaction(compaction.rows_before, compaction.rows_after)
