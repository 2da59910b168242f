"""What the inbox says about a change: the activity messages written into the conversation ("Resolved by Ana"),
and the real-time frames announcing it, published after the change committed.

Activity messages are system messages (threadline.db.repositories.lifecycle): every message view shows them in the
timeline with is_system_message true, and no channel ever receives them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

from threadline.caller import Actor
from threadline.db.repositories.lifecycle import Reopened
from threadline.models.frames import ConversationChanges, Person
from threadline.realtime.frames import conversation_updated_event, inbox_conversation_frame
from threadline.realtime.publisher import publish_conversation_events, publish_inbox_events, publish_stored_messages
from threadline.vocabulary import ConversationStatus, InboxEventKind

REOPENED_BY_CUSTOMER = "Reopened: new message from the customer"
REOPENED_AFTER_SNOOZE = "Reopened: the snooze ended"
# The fields the inbox counts are kept by (status, assignee, team: migration 0014's ledger keys).
COUNTED_FIELDS = frozenset({"status", "assignee_id", "team_id"})


def snooze_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def status_activity(
    status: ConversationStatus, previous: ConversationStatus, snoozed_until: datetime | None, actor: str
) -> str:
    if status == "resolved":
        return f"Resolved by {actor}"
    if status == "snoozed":
        if snoozed_until is None:
            return f"Snoozed by {actor} until the customer writes again"
        return f"Snoozed until {snooze_time(snoozed_until)} by {actor}"
    if status == "pending":
        return f"Marked pending by {actor}"
    if previous in ("resolved", "snoozed"):
        return f"Reopened by {actor}"
    return f"Marked open by {actor}"


def assignee_activity(assignee: str | None, previous: str | None, actor: str) -> str:
    if assignee is None:
        return f"{actor} unassigned {previous}" if previous else f"{actor} unassigned this"
    return f"{actor} assigned this to {assignee}"


def team_activity(team: str | None, previous: str | None, actor: str) -> str:
    if team is None:
        return f"{actor} removed this from team {previous}" if previous else f"{actor} removed the team"
    return f"{actor} moved this to team {team}"


def priority_activity(priority: str | None, actor: str) -> str:
    return f"Priority set to {priority} by {actor}" if priority else f"Priority removed by {actor}"


def auto_assignment_activity(assignee: str) -> str:
    return f"Assigned to {assignee} automatically"


@dataclass(frozen=True)
class ChangeNotice:
    """One committed change of a conversation, as the real-time feeds announce it."""

    conversation_id: int
    version: int
    changes: ConversationChanges
    by: Actor | None
    kind: InboxEventKind
    activity_message_ids: Sequence[int] = field(default_factory=tuple)


def person(user_id: UUID, name: str, avatar_url: str | None) -> Person:
    return {"id": user_id, "name": name, "avatar_url": avatar_url}


def announce(tenant_id: UUID, notices: Sequence[ChangeNotice]) -> None:
    """After commit (never raises): the activity messages and `conversation_updated` frames to the conversations'
    subscribers, and `inbox_conversation` frames to the tenant's inbox feed, followed by an `inbox_counts` frame
    when any of the changes moved the counts."""
    if not notices:
        return
    publish_stored_messages(tenant_id, "created", [i for notice in notices for i in notice.activity_message_ids])
    publish_conversation_events(
        tenant_id,
        [
            conversation_updated_event(notice.conversation_id, notice.changes, notice.by, notice.version)
            for notice in notices
            if notice.changes and notice.kind != "created"
        ],
    )
    publish_inbox_events(
        tenant_id,
        [
            inbox_conversation_frame(notice.kind, notice.conversation_id, notice.changes, notice.by, notice.version)
            for notice in notices
        ],
        counts_moved=any(moves_counts(notice) for notice in notices),
    )


def moves_counts(notice: ChangeNotice) -> bool:
    """Created, assigned and re-opened conversations always move the counts; other updates when they change a
    counted field."""
    return notice.kind != "updated" or not COUNTED_FIELDS.isdisjoint(notice.changes)


def reopen_notice(reopened: Reopened) -> ChangeNotice:
    """What subscribers hear of a conversation the system re-opened (the customer wrote, or its snooze ended)."""
    return ChangeNotice(
        conversation_id=reopened.conversation_id,
        version=reopened.version,
        changes={"status": "open", "snoozed_until": None},
        by=None,
        kind="reopened",
        activity_message_ids=[reopened.activity_message_id],
    )
