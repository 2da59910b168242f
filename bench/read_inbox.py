"""The team inbox's part of `make bench-read`: finding work at 100,000 conversations and 1,000,000 messages.

On the read benchmark's data (bench/read.py: 100,000 conversations in one tenant, 1,000,000 messages), the
conversations are spread over 50 agents (70 % assigned), 10 teams (80 % in one), 30 labels (0 to 2 each, the
first labels far more common than the last), priorities (60 % none ... 5 % urgent) and waiting_since (the open
and pending ones a customer waits on); the messages' text is drawn from a 400-word vocabulary plus "refund" in one
in ten messages (a common word), "Café" in one in fifty (accents), and "zeppelin" in one in 100,000 (rare). The
assignments are written with one UPDATE, through the counts ledger's triggers, then compacted, as the scheduled
function would leave it.

Cases, through the real handler of ListConversationsFunction: the list with each new filter and order (first page,
and a deep cursor page half-way down that list), the counts, and search (messages, contacts). Beside them, in
the same run: an exact count(*) per view of the counts (what counting per call would cost), and an unindexed
ILIKE search.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg

AGENTS = 50
TEAMS = 10
LABELS = 30
# p99 targets, ms.
LIST_TARGET_MS = 20
COUNTS_TARGET_MS = 5
SEARCH_TARGET_MS = 50


@dataclass(frozen=True)
class InboxArranged:
    agent_ids: list[UUID]
    team_ids: list[UUID]
    common_label: str
    rare_label: str


def arrange_inbox(admin: psycopg.Connection[Any], tenant_id: UUID) -> InboxArranged:
    agents = admin.execute(
        """
        INSERT INTO users (tenant_id, name, email, availability)
        SELECT %(tenant)s, 'Agent ' || g, 'agent' || g || '@bench.test', 'online' FROM generate_series(1, %(n)s) g
        RETURNING id
        """,
        {"tenant": tenant_id, "n": AGENTS},
    ).fetchall()
    teams = admin.execute(
        "INSERT INTO teams (tenant_id, name) SELECT %(tenant)s, 'Team ' || g FROM generate_series(1, %(n)s) g"
        " RETURNING id",
        {"tenant": tenant_id, "n": TEAMS},
    ).fetchall()
    agent_ids, team_ids = [row[0] for row in agents], [row[0] for row in teams]
    # Each agent in one team (agent i in team i mod 10); a conversation's assignee is one of its team's agents.
    admin.execute(
        """
        INSERT INTO team_members (tenant_id, team_id, user_id)
        SELECT %(tenant)s, (%(teams)s::uuid[])[1 + (i - 1) %% %(t)s], (%(agents)s::uuid[])[i]
        FROM generate_series(1, %(a)s) i
        """,
        {"tenant": tenant_id, "teams": team_ids, "agents": agent_ids, "t": TEAMS, "a": AGENTS},
    )
    labels = admin.execute(
        "INSERT INTO labels (tenant_id, name) SELECT %(tenant)s, 'label-' || g FROM generate_series(1, %(n)s) g"
        " RETURNING name",
        {"tenant": tenant_id, "n": LABELS},
    ).fetchall()
    admin.execute(
        """
        WITH numbered AS (
            SELECT id, row_number() OVER (ORDER BY id) AS g, status FROM conversations
            WHERE tenant_id = %(tenant)s AND platform <> 'workspace'
        )
        UPDATE conversations c
        SET team_id = CASE WHEN n.g %% 5 <> 0 THEN (%(teams)s::uuid[])[1 + n.g %% %(t)s] END,
            assignee_id = CASE WHEN n.g %% 10 < 7
                               THEN (%(agents)s::uuid[])[1 + n.g %% %(t)s + %(t)s * ((n.g / 7) %% (%(a)s / %(t)s))]
                          END,
            priority = (ARRAY['urgent', 'high', 'high', 'medium', 'medium', 'low', 'low', 'low'])[1 + n.g %% 20],
            waiting_since = CASE WHEN n.status IN ('open', 'pending') AND n.g %% 3 <> 0
                                 THEN c.last_message_at - make_interval(mins => (n.g %% 600)::int) END,
            snoozed_until = CASE WHEN n.status = 'snoozed' THEN timestamptz '2026-03-01' END
        FROM numbered n
        WHERE c.id = n.id
        """,
        {"tenant": tenant_id, "teams": team_ids, "agents": agent_ids, "t": TEAMS, "a": AGENTS},
    )
    # Label k (1-based) on about 1 / (2k) of the conversations, two at most each: label-1 on half, label-30 on 1.7 %.
    admin.execute(
        """
        INSERT INTO conversation_labels (tenant_id, conversation_id, label_id)
        SELECT DISTINCT c.tenant_id, c.id, l.id
        FROM conversations c
        CROSS JOIN LATERAL (VALUES (1 + (c.id * 7919) %% 61), (1 + (c.id * 104729) %% 61)) pick (k)
        JOIN labels l ON l.tenant_id = c.tenant_id AND l.name = 'label-' || ((pick.k + 1) / 2)
        WHERE c.tenant_id = %(tenant)s AND c.platform <> 'workspace' AND pick.k <= 2 * %(labels)s
        """,
        {"tenant": tenant_id, "labels": LABELS},
    )
    admin.execute("SELECT compact_inbox_count_deltas()")
    return InboxArranged(agent_ids, team_ids, common_label=labels[0][0], rare_label=labels[-1][0])


_SYLLABLES = ["ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "de", "va", "zu", "fe", "go", "hi", "ju", "bo"]
# 400 made-up words of two to four syllables: a vocabulary, without any of the known words below.
VOCABULARY = [
    "".join(_SYLLABLES[(i // 16**power) % 16] for power in range(2 + i % 3)) + ("n" if i % 5 == 0 else "")
    for i in range(400)
]

# Message text for the read benchmark's messages (g: the message's number; %(words)s: VOCABULARY): 1 to 12 words
# of the vocabulary, plus known common, accented and rare words.
MESSAGE_TEXT_SQL = """
    (SELECT string_agg((%(words)s::text[])[1 + ((g::bigint * 7919 + j * 104729) %% 400)], ' ')
     FROM generate_series(1, 1 + g %% 12) j)
    || CASE WHEN g %% 10 = 0 THEN ' refund please' ELSE '' END
    || CASE WHEN g %% 50 = 0 THEN ' Café' ELSE '' END
    || CASE WHEN g %% 100000 = 7 THEN ' zeppelin' ELSE '' END
"""


def inbox_cases(
    *,
    tenant_id: UUID,
    arranged: InboxArranged,
    handler_call: Callable[..., Callable[[], Any]],
    app_role_query: Callable[[str, dict[str, Any], UUID], Callable[[], Any]],
    calls: int,
    slow_calls: int,
) -> list[tuple[str, Callable[[], Any], int, str]]:
    """(label, call, calls, group): group names the target the case is measured against ("baseline" for none)."""
    from threadline.caller import Caller
    from threadline.domain.inbox.conversations import list_tenant_conversations
    from threadline.models.conversations import ConversationListQuery

    me = arranged.agent_ids[0]
    team = arranged.team_ids[3]

    def deep_cursor(query: dict[str, str]) -> str | None:
        """The cursor of the page half-way down this list, as a client paging there would hold it."""
        caller = Caller(tenant_id, me)
        first = list_tenant_conversations(caller, ConversationListQuery.model_validate(query))
        # `total` is exact up to 10,000: beyond, try 50,000 in, then shallower until the list is that long.
        depths = [first.total // 2] if first.total_is_exact else [50_000, 25_000, 5_000]
        for depth in depths:
            page = list_tenant_conversations(
                caller, ConversationListQuery.model_validate(query | {"offset": str(depth)})
            )
            if page.next_cursor is not None:
                return page.next_cursor
        return first.next_cursor  # a short list (a scaled-down run): its second page

    lists: list[tuple[str, dict[str, str]]] = [
        ("assignee=me", {"assignee": "me"}),
        ("assignee=me, status=open", {"assignee": "me", "status": "open"}),
        ("assignee=unassigned, status=open", {"assignee": "unassigned", "status": "open"}),
        ("assignee=<agent>", {"assignee": str(arranged.agent_ids[7])}),
        ("team", {"team": str(team)}),
        ("team, status=open", {"team": str(team), "status": "open"}),
        ("status=open,pending", {"status": "open,pending"}),
        (f"label (common, {arranged.common_label})", {"label": arranged.common_label}),
        (f"label (rare, {arranged.rare_label})", {"label": arranged.rare_label}),
        ("priority=urgent", {"priority": "urgent"}),
        ("sort=waiting_since", {"sort": "waiting_since"}),
        ("sort=waiting_since, status=open", {"sort": "waiting_since", "status": "open"}),
        ("sort=priority", {"sort": "priority"}),
        ("sort=priority, assignee=me, status=open", {"sort": "priority", "assignee": "me", "status": "open"}),
    ]
    cases: list[tuple[str, Callable[[], Any], int, str]] = []
    for label, query in lists:
        listing = {"limit": "20"} | query
        cases.append(
            (f"list {label}: first page", handler_call("list-conversations-v1.json", listing, me), calls, "list")
        )
        cursor = deep_cursor(listing)
        if cursor is None:
            continue
        deep = listing | {"cursor": cursor}
        cases.append(
            (f"list {label}: deep cursor", handler_call("list-conversations-v1.json", deep, me), calls, "list")
        )

    cases += [
        ("counts status=open", handler_call("inbox-counts-v1.json", {"status": "open"}, me), calls, "counts"),
        (
            "counts status=open,pending teams=true",
            handler_call("inbox-counts-v1.json", {"status": "open,pending", "teams": "true"}, me),
            calls,
            "counts",
        ),
    ]
    view = "SELECT count(*) FROM conversations WHERE tenant_id = %(tenant)s AND platform <> 'workspace' AND status = 'open'"
    cases.append(
        (
            "baseline: exact count(*) of mine + unassigned + all, open (app role)",
            app_role_query(
                f"SELECT ({view} AND assignee_id = %(me)s), ({view} AND assignee_id IS NULL), ({view})",
                {"tenant": tenant_id, "me": me},
                tenant_id,
            ),
            calls,
            "baseline",
        )
    )
    searches = [
        ("search messages: common word (refund)", {"q": "refund", "type": "messages"}),
        ("search messages: prefix + accent (caf)", {"q": "caf", "type": "messages"}),
        ("search messages: two words (refund please)", {"q": "refund please", "type": "messages"}),
        ("search messages: rare word (zeppelin)", {"q": "zeppelin", "type": "messages"}),
        ("search conversations: common word (refund)", {"q": "refund", "type": "conversations"}),
        ("search contacts: name (customer 4242)", {"q": "customer 4242", "type": "contacts"}),
        ("search contacts: phone digits (555004242)", {"q": "555004242", "type": "contacts"}),
        ("search contacts: common (customer)", {"q": "customer", "type": "contacts"}),
    ]
    for label, query in searches:
        cases.append((label, handler_call("search-v1.json", query, me), calls, "search"))
    cases += [
        (
            "baseline: ILIKE messages, common word, newest 20 (app role)",
            app_role_query(
                "SELECT id FROM messages WHERE tenant_id = %(tenant)s AND content ILIKE '%%refund%%'"
                " ORDER BY id DESC LIMIT 20",
                {"tenant": tenant_id},
                tenant_id,
            ),
            calls,
            "baseline",
        ),
        (
            "baseline: ILIKE messages, rare word, newest 20 (app role)",
            app_role_query(
                "SELECT id FROM messages WHERE tenant_id = %(tenant)s AND content ILIKE '%%zeppelin%%'"
                " ORDER BY id DESC LIMIT 20",
                {"tenant": tenant_id},
                tenant_id,
            ),
            slow_calls,
            "baseline",
        ),
        (
            "baseline: ILIKE contacts name/identifier (app role)",
            app_role_query(
                "SELECT id FROM contacts WHERE tenant_id = %(tenant)s"
                " AND (name ILIKE '%%customer 4242%%' OR identifier ILIKE '%%customer 4242%%') LIMIT 20",
                {"tenant": tenant_id},
                tenant_id,
            ),
            slow_calls,
            "baseline",
        ),
    ]
    return cases


TARGETS_MS = {"list": LIST_TARGET_MS, "counts": COUNTS_TARGET_MS, "search": SEARCH_TARGET_MS}


def targets_report(results: list[tuple[str, str, float, float]]) -> list[list[object]]:
    """Rows (case, p50, p99, target, met) for the cases measured against a target."""
    rows: list[list[object]] = []
    for label, group, p50_ms, p99_ms in results:
        target = TARGETS_MS.get(group)
        met = "baseline" if target is None else ("met" if p99_ms < target else "MISSED")
        rows.append([label, p50_ms, p99_ms, f"< {target}" if target else "-", met])
    return rows
