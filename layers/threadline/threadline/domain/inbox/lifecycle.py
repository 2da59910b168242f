"""A conversation's lifecycle and ownership: an agent's change (PATCH) and snoozes ending (the customer re-opening
it is threadline.domain.intake.inbound's).

Rules:
- `status` is open, pending, snoozed or resolved. Snoozing takes an optional `snoozed_until` in the future (null:
  until the customer writes again); `snoozed_until` alone snoozes. Any other status clears it.
- An assignee is an agent (user) of the tenant, and a member of the conversation's team when it has one.
- Optimistic concurrency: the change is a compare-and-set on `version` (the ETag); an If-Match naming another
  version is refused with 412 and nothing changes.
- A snooze with a time ends at that time, when the scheduled run (every few minutes) gets to it (a customer's new
  message ends it sooner: threadline.domain.intake.inbound).
- Every change writes an activity message and is announced after commit (threadline.domain.inbox.activity); capacity an
  agent frees (a resolve, an unassignment) hands out the unassigned queue (threadline.domain.inbox.assignment).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import psycopg
from aws_lambda_powertools.metrics import MetricUnit

from threadline.caller import Actor, Caller
from threadline.db.repositories.lifecycle import (
    ActivityEntry,
    ConversationState,
    compare_and_set_state,
    find_agent,
    find_inbox_work,
    find_team,
    insert_activity_messages,
    is_team_member,
    lock_conversation_state,
    note_assignment,
    wake_due_snoozes,
)
from threadline.db.tenancy import run_in_transaction
from threadline.domain.inbox import activity
from threadline.domain.inbox.activity import ChangeNotice, announce, person
from threadline.domain.inbox.auto_assignment import auto_assign, hand_out_queue
from threadline.domain.inbox.conversations import read_conversation_detail
from threadline.errors import CONVERSATION_NOT_FOUND, InvalidRequest, NotFound, PreconditionFailed
from threadline.models.conversations import ConversationChange, ConversationDetail
from threadline.models.frames import ConversationChanges
from threadline.observability import logger, metrics
from threadline.vocabulary import CONVERSATION_STATUSES, LOAD_STATUSES, InboxEventKind

CHANGEABLE_FIELDS = ("status", "snoozed_until", "assignee_id", "team_id", "priority")
STALE_MESSAGE = "The conversation has changed since you read it (If-Match does not match its ETag); reload and retry"
# The scheduled run: snoozes woken per statement, and tenants looked at per run.
WAKE_BATCH = 500
TENANTS_PER_RUN = 1_000
TIME_LEFT_MARGIN_MS = 5_000


def parse_if_match(header: str | None) -> int | None:
    """The version an If-Match names; None for no precondition (absent or `*`). A value that names no version of
    ours (another server's tag, garbage) can never match: -1."""
    if header is None or header.strip() == "*":
        return None
    tag = header.split(",")[0].strip().removeprefix("W/").strip('"')
    return int(tag) if tag.isascii() and tag.isdigit() and len(tag) <= 18 else -1


@dataclass(frozen=True)
class _Names:
    actor: str
    assignee: str | None = None
    previous_assignee: str | None = None
    team: str | None = None
    previous_team: str | None = None


def _check_request(change: ConversationChange, now: datetime) -> set[str]:
    given = change.given()
    if not given:
        raise InvalidRequest(f"Request body must carry at least one of {', '.join(CHANGEABLE_FIELDS)}")
    if "status" in given and change.status is None:
        raise InvalidRequest(f"status: must be one of {', '.join(CONVERSATION_STATUSES)}")
    if change.snoozed_until is not None:
        if "status" in given and change.status != "snoozed":
            raise InvalidRequest("snoozed_until: only a snoozed conversation has one (use status snoozed)")
        if change.snoozed_until <= now:
            raise InvalidRequest("snoozed_until: must be in the future")
    return given


def _next_state(
    conn: psycopg.Connection[Any], current: ConversationState, change: ConversationChange, given: set[str], actor: str
) -> tuple[ConversationState, _Names]:
    status = change.status if "status" in given and change.status else current.status
    if change.snoozed_until is not None:
        status = "snoozed"
    if status != "snoozed":
        snoozed_until = None
    elif "snoozed_until" in given or "status" in given:
        snoozed_until = change.snoozed_until
    else:
        snoozed_until = current.snoozed_until
    names = _Names(actor=actor)

    team_id = change.team_id if "team_id" in given else current.team_id
    if team_id != current.team_id:
        team = find_team(conn, team_id) if team_id is not None else None
        if team_id is not None and team is None:
            raise InvalidRequest("team_id: must be a team of this tenant")
        previous_team = find_team(conn, current.team_id) if current.team_id is not None else None
        names = replace(
            names, team=team.name if team else None, previous_team=previous_team.name if previous_team else None
        )

    assignee_id = change.assignee_id if "assignee_id" in given else current.assignee_id
    if assignee_id != current.assignee_id:
        assignee = find_agent(conn, assignee_id) if assignee_id is not None else None
        if assignee_id is not None and assignee is None:
            raise InvalidRequest("assignee_id: must be an agent of this tenant")
        previous = find_agent(conn, current.assignee_id) if current.assignee_id is not None else None
        names = replace(
            names, assignee=assignee.name if assignee else None, previous_assignee=previous.name if previous else None
        )
    if (
        team_id is not None
        and assignee_id is not None
        and ({"team_id", "assignee_id"} & given)
        and not is_team_member(conn, team_id=team_id, user_id=assignee_id)
    ):
        if "assignee_id" in given:
            raise InvalidRequest("assignee_id: must be a member of the conversation's team")
        raise InvalidRequest(
            "team_id: the assignee is not a member of that team; pass assignee_id too (null to unassign)"
        )

    priority = change.priority if "priority" in given else current.priority
    state = ConversationState(
        id=current.id,
        version=current.version,
        status=status,
        snoozed_until=snoozed_until,
        assignee_id=assignee_id,
        team_id=team_id,
        priority=priority,
    )
    return state, names


def _activity_and_changes(
    current: ConversationState, state: ConversationState, names: _Names, author: UUID | None, avatar: str | None
) -> tuple[list[ActivityEntry], ConversationChanges]:
    entries: list[str] = []
    changes: ConversationChanges = {}
    if (state.status, state.snoozed_until) != (current.status, current.snoozed_until):
        changes["status"] = state.status
        changes["snoozed_until"] = state.snoozed_until
        entries.append(activity.status_activity(state.status, current.status, state.snoozed_until, names.actor))
    if state.assignee_id != current.assignee_id:
        changes["assignee_id"] = state.assignee_id
        changes["assignee"] = (
            person(state.assignee_id, names.assignee or "", avatar) if state.assignee_id is not None else None
        )
        entries.append(activity.assignee_activity(names.assignee, names.previous_assignee, names.actor))
    if state.team_id != current.team_id:
        changes["team_id"] = state.team_id
        changes["team"] = {"id": state.team_id, "name": names.team or ""} if state.team_id is not None else None
        entries.append(activity.team_activity(names.team, names.previous_team, names.actor))
    if state.priority != current.priority:
        changes["priority"] = state.priority
        entries.append(activity.priority_activity(state.priority, names.actor))
    return [ActivityEntry(current.id, text, author) for text in entries], changes


def _inbox_kind(current: ConversationState, state: ConversationState) -> InboxEventKind:
    if state.assignee_id != current.assignee_id:
        return "assigned"
    if state.status == "open" and current.status in ("resolved", "snoozed"):
        return "reopened"
    return "updated"


def _frees_capacity(current: ConversationState, state: ConversationState) -> bool:
    """An agent's load went down: someone in the queue may now be handed to them."""
    if current.assignee_id is None or current.status not in LOAD_STATUSES:
        return False
    return state.assignee_id != current.assignee_id or state.status not in LOAD_STATUSES


def update_conversation(
    caller: Caller, conversation_id: int, change: ConversationChange, *, if_match: str | None
) -> ConversationDetail:
    """PATCH /v1/conversations/{id}: the conversation after the change, answered as GET answers it."""
    now = datetime.now(UTC)
    given = _check_request(change, now)
    expected = parse_if_match(if_match)

    def work(conn: psycopg.Connection[Any]) -> tuple[ConversationDetail, ChangeNotice | None, bool]:
        current = lock_conversation_state(conn, conversation_id)
        if current is None:
            raise NotFound(CONVERSATION_NOT_FOUND)
        if expected is not None and expected != current.version:
            raise PreconditionFailed(STALE_MESSAGE)
        agent = find_agent(conn, caller.user_id) if caller.user_id is not None else None
        actor = Actor(agent.id, agent.name) if agent else None
        actor_name = agent.name if agent else (caller.token_name or "an API client")
        state, names = _next_state(conn, current, change, given, actor_name)
        if state == current:
            return read_conversation_detail(conn, conversation_id, reader_id=caller.user_id), None, False
        # The row is locked, so the version cannot move under us; the compare-and-set says so in SQL all the same.
        version = compare_and_set_state(conn, expected_version=current.version, state=state)
        if version is None:
            raise PreconditionFailed(STALE_MESSAGE)
        assignee_avatar = None
        if state.assignee_id is not None and state.assignee_id != current.assignee_id:
            note_assignment(conn, state.assignee_id)
            assignee = find_agent(conn, state.assignee_id)
            assignee_avatar = assignee.avatar_url if assignee else None
        entries, changes = _activity_and_changes(current, state, names, actor.id if actor else None, assignee_avatar)
        activity_ids = insert_activity_messages(conn, tenant_id=caller.tenant_id, entries=entries)
        notice = ChangeNotice(conversation_id, version, changes, actor, _inbox_kind(current, state), activity_ids)
        return (
            read_conversation_detail(conn, conversation_id, reader_id=caller.user_id),
            notice,
            _frees_capacity(current, state),
        )

    detail, notice, freed = run_in_transaction(work, tenant_id=caller.tenant_id, actor=caller)
    if notice is not None:
        announce(caller.tenant_id, [notice])
    if freed:
        hand_out_queue(caller.tenant_id)
    return detail


# ---------------------------------------------------------------------------------------------------------------
# The scheduled run (functions/expire_windows): snoozes that are due, and the queue.
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboxScheduleOutcome:
    snoozes_woken: int
    conversations_assigned: int
    tenants: int
    caught_up: bool

    def as_dict(self) -> dict[str, Any]:
        return vars(self).copy()


def _wake_tenant(tenant_id: UUID) -> int:
    woken = 0
    while True:
        batch = run_in_transaction(
            lambda conn: wake_due_snoozes(
                conn, tenant_id=tenant_id, limit=WAKE_BATCH, content=activity.REOPENED_AFTER_SNOOZE
            ),
            tenant_id=tenant_id,
        )
        announce(tenant_id, [activity.reopen_notice(each) for each in batch])
        auto_assign(tenant_id, [each.conversation_id for each in batch], reassign_offline=True)
        woken += len(batch)
        if len(batch) < WAKE_BATCH:
            return woken


def run_inbox_schedule(*, remaining_time_ms: Callable[[], int] | None = None) -> InboxScheduleOutcome:
    """Wake every snooze that is due and serve every tenant's unassigned queue. A wake-up is late by at most the
    schedule's interval (plus this run's own time); a run short of time leaves the rest to the next."""
    started = time.monotonic()
    work = run_in_transaction(lambda conn: find_inbox_work(conn, limit=TENANTS_PER_RUN))
    woken = assigned = 0
    caught_up = len(work) < TENANTS_PER_RUN
    for each in work:
        if remaining_time_ms is not None and remaining_time_ms() < TIME_LEFT_MARGIN_MS:
            caught_up = False
            logger.warning("inbox schedule stopped before serving every tenant; the next run continues")
            break
        try:
            if each.snoozes_due:
                woken += _wake_tenant(each.tenant_id)
            if each.queue_waiting:
                assigned += len(hand_out_queue(each.tenant_id))
        except Exception:
            caught_up = False
            logger.exception("inbox schedule failed for a tenant", extra={"tenant_id": str(each.tenant_id)})
    outcome = InboxScheduleOutcome(
        snoozes_woken=woken, conversations_assigned=assigned, tenants=len(work), caught_up=caught_up
    )
    metrics.add_metric(name="SnoozesWoken", unit=MetricUnit.Count, value=woken)
    metrics.add_metric(name="QueuedConversationsAssigned", unit=MetricUnit.Count, value=assigned)
    logger.info("inbox schedule run", extra=outcome.as_dict() | {"seconds": round(time.monotonic() - started, 3)})
    return outcome
