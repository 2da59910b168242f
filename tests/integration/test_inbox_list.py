"""Finding work in the conversation list: assignee, team, status lists, label and priority filters, the three
orders, and cursors through each (ties, nulls, deep pages), through the real handler. Assignments, teams,
priorities and labels are written by the owner's raw UPDATEs, as the lifecycle and labels code will write them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support.ingest import message
from tests.support.read import add_agent, call, chat, claims_for, ingest, make_tenant

BASE = datetime(2026, 2, 1, 10, 0, tzinfo=UTC)
STATUSES = ["open", "open", "pending", "resolved", "snoozed", "open"]
PRIORITIES = [None, "urgent", "low", "high", None, "medium", "urgent"]


def _at(minutes: int) -> str:
    return (BASE + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


class Inbox:
    """Twenty-four conversations of one tenant with every combination the filters and orders must get right:
    equal last activity (ties), no messages at all (null activity), no one waiting (null waiting_since), two
    agents, two teams, labels, priorities."""

    def __init__(self, admin: Any, make_connector: Any) -> None:
        self.admin = admin
        self.tenant = make_tenant(make_connector)
        self.ana = add_agent(admin, self.tenant, "Ana Agent", "https://cdn.test/ana.png")
        self.bob = add_agent(admin, self.tenant, "Bob Agent")
        self.teams = [
            admin.execute(
                "INSERT INTO teams (tenant_id, name) VALUES (%s, %s) RETURNING id", (self.tenant.id, name)
            ).fetchone()[0]
            for name in ("Billing", "Support")
        ]
        self.labels = {
            name: admin.execute(
                "INSERT INTO labels (tenant_id, name) VALUES (%s, %s) RETURNING id", (self.tenant.id, name)
            ).fetchone()[0]
            for name in ("VIP", "refund")
        }
        chats = []
        for index in range(24):
            # Every third pair shares its last activity (ties broken by id); three conversations have no message.
            minute = (index // 2) * 10 if index % 3 == 0 else index * 10 + 1
            messages = [message(f"m{index}", _at(minute))] if index not in (5, 11, 17) else []
            chats.append(chat(f"chat_{index}", f"+1555000{index:04d}", *messages, name=f"Customer {index}"))
        self.ids = ingest(self.tenant, *chats)
        for index, conversation_id in enumerate(self.ids):
            status = STATUSES[index % len(STATUSES)]
            admin.execute(
                """
                UPDATE conversations
                SET status = %(status)s,
                    snoozed_until = CASE WHEN %(status)s = 'snoozed' THEN %(snooze)s::timestamptz END,
                    assignee_id = %(assignee)s, team_id = %(team)s, priority = %(priority)s,
                    waiting_since = %(waiting)s
                WHERE id = %(id)s
                """,
                {
                    "id": conversation_id,
                    "status": status,
                    "snooze": _at(10_000),
                    "assignee": [self.ana, self.bob, None][index % 3],
                    "team": [self.teams[0], self.teams[1], None, self.teams[0]][index % 4],
                    "priority": PRIORITIES[index % len(PRIORITIES)],
                    # Waiting: equal times for some (ties), none for every fourth (null).
                    "waiting": None if index % 4 == 0 else _at(1000 - (index // 3) * 5),
                },
            )
            if index % 2 == 0:
                self.label(conversation_id, "VIP")
            if index % 5 == 0:
                self.label(conversation_id, "refund")

    def label(self, conversation_id: int, name: str) -> None:
        self.admin.execute(
            "INSERT INTO conversation_labels (tenant_id, conversation_id, label_id) VALUES (%s, %s, %s)",
            (self.tenant.id, conversation_id, self.labels[name]),
        )

    def expected(self, where: str, order: str, params: dict[str, Any] | None = None) -> list[int]:
        """The ids the list must show, in order, by the owner's own SQL over the same rows."""
        rows = self.admin.execute(
            f"SELECT id FROM conversations c WHERE tenant_id = %(tenant)s AND ({where}) ORDER BY {order}",
            {"tenant": self.tenant.id} | (params or {}),
        ).fetchall()
        return [row[0] for row in rows]


@pytest.fixture
def inbox(admin, make_connector) -> Inbox:
    return Inbox(admin, make_connector)


def page_through(claims: dict[str, str], query: dict[str, str], limit: int = 3) -> list[int]:
    """Every id of the list, following next_cursor page by page."""
    seen: list[int] = []
    cursor = None
    for _ in range(100):
        page_query = query | {"limit": str(limit)} | ({"cursor": cursor} if cursor else {})
        status, body = call("list_conversations_v1", claims=claims, query=page_query)
        assert status == 200, body
        seen += [item["id"] for item in body["conversations"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("the cursor never ended")


ACTIVITY = "last_message_at DESC NULLS LAST, id DESC"
WAITING = "waiting_since ASC NULLS LAST, id ASC"
PRIORITY = "priority_rank DESC, last_message_at DESC NULLS LAST, id DESC"


class TestOrdersAndCursors:
    @pytest.mark.parametrize(
        ("sort", "order"), [("last_activity", ACTIVITY), ("waiting_since", WAITING), ("priority", PRIORITY)]
    )
    def test_each_order_pages_through_every_conversation_once_in_order(self, inbox, sort, order):
        expected = inbox.expected("true", order)
        assert len(expected) == 24
        # Pages of 1, 2 and 5: every boundary falls once on a tie, a null, and a change of priority.
        for limit in (1, 2, 5):
            assert page_through(inbox.tenant.claims, {"sort": sort}, limit=limit) == expected

    def test_ties_and_nulls_are_really_in_the_data(self, inbox):
        rows = inbox.admin.execute(
            "SELECT count(*) FILTER (WHERE last_message_at IS NULL), count(*) FILTER (WHERE waiting_since IS NULL),"
            " count(*) - count(DISTINCT last_message_at), count(*) - count(DISTINCT waiting_since)"
            " FROM conversations WHERE tenant_id = %s",
            (inbox.tenant.id,),
        ).fetchone()
        no_activity, not_waiting, activity_ties, waiting_ties = rows
        assert no_activity == 3 and not_waiting == 6 and activity_ties > 2 and waiting_ties > 6

    def test_waiting_since_puts_the_oldest_waiting_first_and_those_nobody_waits_on_last(self, inbox):
        status, body = call("list_conversations_v1", claims=inbox.tenant.claims, query={"sort": "waiting_since"})
        assert status == 200
        waiting = [item["waiting_since"] for item in body["conversations"]]
        dated = [value for value in waiting if value is not None]
        assert dated == sorted(dated) and waiting[-1] is None and waiting.index(None) == len(dated)

    def test_a_cursor_belongs_to_its_order_and_filters(self, inbox):
        _, first = call("list_conversations_v1", claims=inbox.tenant.claims, query={"sort": "priority", "limit": "2"})
        for other in ({"sort": "last_activity"}, {"sort": "priority", "status": "open"}, {"sort": "waiting_since"}):
            status, body = call(
                "list_conversations_v1", claims=inbox.tenant.claims, query=other | {"cursor": first["next_cursor"]}
            )
            assert status == 400 and "cursor is not valid for this list" in body["error"]


FILTERS = [
    ({"status": "open"}, "status = 'open'", {}),
    ({"status": "open,pending"}, "status IN ('open', 'pending')", {}),
    ({"priority": "urgent,high"}, "priority IN ('urgent', 'high')", {}),
    ({"priority": "low"}, "priority = 'low'", {}),
    ({"assignee": "unassigned"}, "assignee_id IS NULL", {}),
    ({"assignee": "unassigned", "status": "open"}, "assignee_id IS NULL AND status = 'open'", {}),
]


class TestFilters:
    @pytest.mark.parametrize(("query", "where", "params"), FILTERS)
    @pytest.mark.parametrize(
        ("sort", "order"), [("last_activity", ACTIVITY), ("waiting_since", WAITING), ("priority", PRIORITY)]
    )
    def test_each_filter_with_each_order(self, inbox, query, where, params, sort, order):
        expected = inbox.expected(where, order, params)
        assert expected, "the filter must match something"
        assert page_through(inbox.tenant.claims, query | {"sort": sort}, limit=2) == expected

    def test_assignee_me_is_the_tokens_agent(self, inbox):
        ana = claims_for(inbox.tenant.id, inbox.ana)
        expected = inbox.expected("assignee_id = %(ana)s", ACTIVITY, {"ana": inbox.ana})
        assert page_through(ana, {"assignee": "me"}, limit=2) == expected
        assert page_through(inbox.tenant.claims, {"assignee": str(inbox.ana)}, limit=2) == expected
        bob = claims_for(inbox.tenant.id, inbox.bob)
        assert set(page_through(bob, {"assignee": "me"})).isdisjoint(expected)

    def test_assignee_me_with_a_token_that_names_no_agent_is_a_403(self, inbox):
        status, body = call("list_conversations_v1", claims=inbox.tenant.claims, query={"assignee": "me"})
        assert status == 403 and "assignee=me" in body["error"] and "agent" in body["error"]

    def test_team(self, inbox):
        expected = inbox.expected("team_id = %(team)s", PRIORITY, {"team": inbox.teams[0]})
        query = {"team": str(inbox.teams[0]), "sort": "priority"}
        assert page_through(inbox.tenant.claims, query, limit=2) == expected

    def test_label_by_name_case_insensitively(self, inbox):
        expected = inbox.expected(
            "id IN (SELECT conversation_id FROM conversation_labels WHERE label_id = %(label)s)",
            ACTIVITY,
            {"label": inbox.labels["VIP"]},
        )
        assert len(expected) == 12
        assert page_through(inbox.tenant.claims, {"label": "vip"}, limit=5) == expected
        assert page_through(inbox.tenant.claims, {"label": " VIP "}, limit=5) == expected

    def test_an_unknown_label_lists_nothing(self, inbox):
        status, body = call("list_conversations_v1", claims=inbox.tenant.claims, query={"label": "nope"})
        assert status == 200 and body["conversations"] == [] and body["total"] == 0

    def test_filters_combine(self, inbox):
        ana = claims_for(inbox.tenant.id, inbox.ana)
        expected = inbox.expected(
            "assignee_id = %(ana)s AND status IN ('open', 'snoozed') AND team_id = %(team)s"
            " AND id IN (SELECT conversation_id FROM conversation_labels WHERE label_id = %(label)s)",
            WAITING,
            {"ana": inbox.ana, "team": inbox.teams[0], "label": inbox.labels["VIP"]},
        )
        query = {
            "assignee": "me",
            "status": "open,snoozed",
            "team": str(inbox.teams[0]),
            "label": "VIP",
            "sort": "waiting_since",
        }
        assert expected and page_through(ana, query, limit=1) == expected

    def test_total_counts_the_filtered_list(self, inbox):
        _, body = call("list_conversations_v1", claims=inbox.tenant.claims, query={"priority": "urgent"})
        assert body["total"] == len(inbox.expected("priority = 'urgent'", ACTIVITY)) and body["total_is_exact"]

    def test_a_label_alone_totals_the_label_s_kept_count_which_is_the_list_s_own(self, inbox):
        labelled = "id IN (SELECT conversation_id FROM conversation_labels WHERE label_id = %(label)s)"
        for name in ("VIP", "refund"):
            _, body = call("list_conversations_v1", claims=inbox.tenant.claims, query={"label": name})
            exact = len(inbox.expected(labelled, ACTIVITY, {"label": inbox.labels[name]}))
            assert (body["total"], body["total_is_exact"]) == (exact, True)
            # With another filter too, the total is counted over the filtered list.
            _, narrowed = call(
                "list_conversations_v1", claims=inbox.tenant.claims, query={"label": name, "status": "open"}
            )
            expected = inbox.expected(f"status = 'open' AND {labelled}", ACTIVITY, {"label": inbox.labels[name]})
            assert narrowed["total"] == len(expected)

    def test_another_tenants_agent_or_team_finds_nothing(self, inbox, make_connector):
        other = make_tenant(make_connector)
        for query in ({"assignee": str(inbox.ana)}, {"team": str(inbox.teams[0])}, {"label": "VIP"}):
            status, body = call("list_conversations_v1", claims=other.claims, query=query)
            assert status == 200 and body["conversations"] == [], query


class TestItemFields:
    def test_each_item_shows_its_owner_team_priority_labels_snooze_and_wait(self, inbox):
        _, body = call("list_conversations_v1", claims=inbox.tenant.claims, query={"limit": "100"})
        items = {item["id"]: item for item in body["conversations"]}
        first = items[inbox.ids[0]]  # index 0: Ana, Billing, no priority, VIP + refund, open, not waiting
        assert first["assignee"] == {
            "id": str(inbox.ana),
            "name": "Ana Agent",
            "avatar_url": "https://cdn.test/ana.png",
        }
        assert first["team"] == {"id": str(inbox.teams[0]), "name": "Billing"}
        assert first["priority"] is None and first["labels"] == ["refund", "VIP"]
        assert first["snoozed_until"] is None and first["waiting_since"] is None
        second = items[inbox.ids[1]]  # Bob, Support, urgent, no label, open, waiting
        assert second["assignee"]["name"] == "Bob Agent" and second["assignee"]["avatar_url"] is None
        assert second["priority"] == "urgent" and second["labels"] == []
        assert second["waiting_since"] == _at(1000).replace("Z", "Z")
        third = items[inbox.ids[2]]  # unassigned, no team
        assert third["assignee"] is None and third["team"] is None
        snoozed = items[inbox.ids[4]]
        assert snoozed["status"] == "snoozed" and snoozed["snoozed_until"] == _at(10_000)

    def test_the_detail_shows_the_same_fields(self, inbox):
        status, detail = call("get_conversation_v1", claims=inbox.tenant.claims, path_id=inbox.ids[0])
        assert status == 200
        assert detail["assignee"]["id"] == str(inbox.ana) and detail["team"]["name"] == "Billing"
        assert detail["labels"] == ["refund", "VIP"] and detail["priority"] is None
        assert "snoozed_until" in detail and "waiting_since" in detail


@pytest.mark.parametrize(
    ("query", "error"),
    [
        (
            {"status": "open,archived"},
            "status must be one of open, pending, snoozed, resolved (or a comma list of them)",
        ),
        ({"status": ""}, "status must be one of open, pending, snoozed, resolved (or a comma list of them)"),
        ({"assignee": "someone"}, "assignee must be me, unassigned or an agent id (a UUID)"),
        ({"team": "billing"}, "team must be a team id (a UUID)"),
        ({"label": "x" * 51}, "label must be a label name of 1 to 50 characters, without NUL characters"),
        ({"label": "a\x00"}, "label must be a label name of 1 to 50 characters, without NUL characters"),
        ({"label": "  "}, "label must be a label name of 1 to 50 characters, without NUL characters"),
        ({"priority": "critical"}, "priority must be one of low, medium, high, urgent (or a comma list of them)"),
        ({"sort": "oldest"}, "sort must be one of last_activity, waiting_since, priority"),
    ],
)
def test_malformed_filters_are_400s_naming_the_parameter(make_connector, query, error):
    tenant = make_tenant(make_connector)
    assert call("list_conversations_v1", claims=tenant.claims, query=query) == (400, {"error": error})


def test_a_cursor_of_a_foreign_shape_is_refused(make_connector):
    from threadline.db.repositories.conversations import ConversationFilters
    from threadline.domain.inbox.conversations import conversation_list_fingerprint
    from threadline.domain.pagination import encode_keyset_cursor

    tenant = make_tenant(make_connector)
    fingerprint = conversation_list_fingerprint(ConversationFilters(), "priority")
    for key in (["9", None, 1], [7, None, 1], [1, "yesterday", 1], [1, None, -4]):
        status, body = call(
            "list_conversations_v1",
            claims=tenant.claims,
            query={"sort": "priority", "cursor": encode_keyset_cursor(fingerprint, key)},
        )
        assert status == 400 and "cursor is not valid" in body["error"], key
    assert uuid.UUID(str(tenant.id))
