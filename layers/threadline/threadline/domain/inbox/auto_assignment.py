"""Auto-assignment: handing new, re-opened and queued conversations to the tenant's online agents.

Auto-assignment (per tenant, or per team for conversations routed to a team with its own setting) gives a new
conversation, or a re-opened one whose assignee is offline, to the online agent with the fewest open conversations
below the cap (ties: longest since their last assignment). When nobody can take it, it stays unassigned and waits in
the queue, handed out oldest-waiting-first when an agent comes online or frees capacity, and by the scheduled run.

An agent's load counts open and pending conversations (pending waits on the customer, but is still the agent's to
follow up; snoozed and resolved ones do not count). Each assignment is its own short transaction, run after the
write that made the conversation assignable committed: it locks the conversation, then the chosen agent's row, and
counts the agent's load again under that lock, so concurrent assignments to one agent queue behind each other and
none can push the agent over the cap. One agent lock per candidate, taken in rank order: should two assignments
still cross, PostgreSQL's deadlock detection rolls one back and run_in_transaction runs it again.

Apart from threadline.domain.inbox.assignment (the agent and team routes, with their response models), so the inbound
writers and the scheduled run load only this.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg

from threadline.db.repositories.assignment import (
    AssignmentTarget,
    assign_conversation,
    count_load,
    find_assignment_targets,
    lock_agent,
    lock_assignment_target,
    queue_head,
    rank_candidates,
)
from threadline.db.repositories.lifecycle import ActivityEntry, insert_activity_messages
from threadline.db.tenancy import run_in_transaction
from threadline.domain.inbox.activity import ChangeNotice, announce, auto_assignment_activity, person
from threadline.observability import logger

# Agents tried per ranking: the best few, locked one by one; a fresh ranking if all of them filled up meanwhile.
CANDIDATES_PER_RANKING = 5
RANKINGS = 3
# How much of the queue one hand-out looks at (oldest waiting first).
QUEUE_BATCH = 50


@dataclass(frozen=True)
class AutoAssignment:
    conversation_id: int
    version: int
    agent_id: UUID
    agent_name: str
    agent_avatar_url: str | None
    activity_message_id: int


def _assign_one(tenant_id: UUID, conversation_id: int, *, reassign_offline: bool) -> AutoAssignment | None:
    """Give one conversation to the best agent who can take it; None when nobody can (or it needs nobody now)."""

    def work(conn: psycopg.Connection[Any]) -> AutoAssignment | None:
        target = lock_assignment_target(conn, conversation_id, reassign_offline=reassign_offline)
        if target is None:
            return None
        tried: set[UUID] = set()
        for _ in range(RANKINGS):
            candidates = [
                candidate
                for candidate in rank_candidates(
                    conn,
                    tenant_id=tenant_id,
                    pool_team_id=target.pool_team_id,
                    cap=target.cap,
                    limit=CANDIDATES_PER_RANKING + len(tried),
                )
                if candidate.id not in tried and candidate.id != target.assignee_id
            ]
            if not candidates:
                return None
            for candidate in candidates[:CANDIDATES_PER_RANKING]:
                tried.add(candidate.id)
                # The ranking was read before this lock: whoever held it may have filled the agent up meanwhile.
                if lock_agent(conn, candidate.id) != "online":
                    continue
                if target.cap is not None and count_load(conn, tenant_id=tenant_id, user_id=candidate.id) >= target.cap:
                    continue
                version = assign_conversation(conn, conversation_id=conversation_id, user_id=candidate.id)
                [activity_id] = insert_activity_messages(
                    conn,
                    tenant_id=tenant_id,
                    entries=[ActivityEntry(conversation_id, auto_assignment_activity(candidate.name), None)],
                )
                return AutoAssignment(
                    conversation_id, version, candidate.id, candidate.name, candidate.avatar_url, activity_id
                )
        return None

    return run_in_transaction(work, tenant_id=tenant_id)


def auto_assign(
    tenant_id: UUID, conversation_ids: Sequence[int], *, reassign_offline: bool = False
) -> list[AutoAssignment]:
    """Hand out these conversations (in the order given) where their tenant or team auto-assigns; call it after
    the write that created or re-opened them committed. With `reassign_offline`, a conversation assigned to an
    offline agent is handed to an online one. Never raises: an assignment that fails leaves the conversation in
    the queue, which the next hand-out or scheduled run serves."""
    if not conversation_ids:
        return []
    try:
        return _auto_assign(tenant_id, conversation_ids, reassign_offline=reassign_offline)
    except Exception:
        logger.exception("auto-assignment failed; the conversations wait in the queue")
        return []


def _auto_assign(tenant_id: UUID, conversation_ids: Sequence[int], *, reassign_offline: bool) -> list[AutoAssignment]:
    found = run_in_transaction(
        lambda conn: find_assignment_targets(conn, conversation_ids, reassign_offline=reassign_offline),
        tenant_id=tenant_id,
    )
    by_id: dict[int, AssignmentTarget] = {target.conversation_id: target for target in found}
    assigned: list[AutoAssignment] = []
    # Once nobody in a pool (team, cap) can take a conversation, nobody can take the next one of that pool.
    full_pools: set[tuple[UUID | None, int | None]] = set()
    for conversation_id in dict.fromkeys(conversation_ids):
        target = by_id.get(conversation_id)
        if target is None or (target.pool_team_id, target.cap) in full_pools:
            continue
        assignment = _assign_one(tenant_id, conversation_id, reassign_offline=reassign_offline)
        if assignment is None:
            full_pools.add((target.pool_team_id, target.cap))
        else:
            assigned.append(assignment)
    announce(
        tenant_id,
        [
            ChangeNotice(
                conversation_id=a.conversation_id,
                version=a.version,
                changes={
                    "assignee_id": a.agent_id,
                    "assignee": person(a.agent_id, a.agent_name, a.agent_avatar_url),
                },
                by=None,
                kind="assigned",
                activity_message_ids=[a.activity_message_id],
            )
            for a in assigned
        ],
    )
    return assigned


def hand_out_queue(tenant_id: UUID, *, limit: int = QUEUE_BATCH) -> list[AutoAssignment]:
    """Serve the unassigned queue, oldest waiting first, as far as agents can take it."""
    try:
        waiting = run_in_transaction(
            lambda conn: queue_head(conn, tenant_id=tenant_id, limit=limit), tenant_id=tenant_id
        )
    except Exception:
        logger.exception("reading the unassigned queue failed; the scheduled run serves it")
        return []
    return auto_assign(tenant_id, waiting)
