"""Handler time of the agent read API at depth: 1,000,000 messages in one conversation, 100,000 conversations in
one tenant (beside another tenant's 10,000), in a fresh database on the development server.

Each case calls the real lambda_handler of ListMessagesFunction or ListConversationsFunction with an API Gateway
HTTP API v2.0 event carrying the tenant's JWT claims, connected as threadline_app under RLS, exactly as Lambda
would. Cases run interleaved (one call of each per round) so drift on a shared machine hits them alike; the few
slow ones (hundreds of ms, reading half the timeline) run after the fast ones, not among them. Beside
them, in the same run and on the same data: the bare first-page SQL as the owner (the floor under the handler),
the seed document's own query pattern (JOIN + LIMIT/OFFSET) at the same depth, and an exact count(*) of the
tenant's conversations (what `total` would cost uncapped).

The data is loaded set-based as the owner (INSERT ... SELECT generate_series, through the same triggers the
product's writers fire) and then VACUUM ANALYZEd, as autovacuum would leave an older table.

Run: `make bench-read` (or `.venv/bin/python -m bench.read`). Prints figures and ratios; asserts nothing.
"""

from __future__ import annotations

import copy
import json
import os
import time
from collections.abc import Callable
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql

from bench.common import median, percentile, print_header, print_ratio, print_table, ratio, throwaway_database
from bench.read_inbox import MESSAGE_TEXT_SQL, VOCABULARY, InboxArranged, arrange_inbox, inbox_cases, targets_report
from devtools.lambda_runtime import LocalLambdaContext, load_handler
from devtools.paths import REPO_ROOT
from devtools.template import load_template

MESSAGES = 1_000_000
CONVERSATIONS = 100_000
OTHER_TENANT_CONVERSATIONS = 10_000
LOCATIONS = 5
MESSAGE_PAGE = 50
CONVERSATION_PAGE = 20
FAST_CALLS = 300
SLOW_CALLS = 30
WARMUP_CALLS = 3
EVENTS = REPO_ROOT / "events"


@dataclass(frozen=True)
class Arranged:
    tenant_id: UUID
    deep_conversation_id: int
    location_id: UUID
    inbox: InboxArranged
    seconds: float


def _create_tenant(admin: psycopg.Connection[Any], name: str, locations: int) -> tuple[UUID, list[UUID]]:
    """A tenant with one WhatsApp connection per location (or one without a location); the connections' ids."""
    from threadline.db.repositories.tenants import insert_tenant
    from threadline.domain.intake.connections import create_connection
    from threadline.domain.intake.locations import create_location

    tenant = insert_tenant(admin, name)
    connection_ids = []
    for index in range(max(locations, 1)):
        created = create_connection(admin, tenant_id=tenant.id, platform="whatsapp", connection_id=f"{name}_{index}")
        if locations:
            create_location(
                admin, tenant_id=tenant.id, name=f"Shop {index}", connection_ids=[created.connection.connection_id]
            )
        connection_ids.append(created.connection.id)
    return tenant.id, connection_ids


def _fill_conversations(admin: psycopg.Connection[Any], tenant_id: UUID, connections: list[UUID], count: int) -> None:
    """`count` contacts and conversations, spread over the connections (so the locations) and the statuses; one
    in a hundred has no message yet (they sort last)."""
    admin.execute(
        """
        INSERT INTO contacts (tenant_id, identifier, phone_digits, name, last_interaction_at)
        SELECT %(tenant)s, '+1555' || lpad(g::text, 7, '0'), '1555' || lpad(g::text, 7, '0'), 'Customer ' || g,
               timestamptz '2026-02-01' - make_interval(mins => g)
        FROM generate_series(1, %(count)s) g
        """,
        {"tenant": tenant_id, "count": count},
    )
    admin.execute(
        """
        INSERT INTO conversations (tenant_id, connection_id, platform, external_conversation_id, contact_id, status,
                                   last_message_at, last_message_preview)
        SELECT %(tenant)s, (%(connections)s::uuid[])[1 + g %% cardinality(%(connections)s::uuid[])], 'whatsapp',
               'chat_' || g, k.id,
               (ARRAY['resolved', 'resolved', 'resolved', 'open', 'open', 'pending', 'snoozed'])[1 + g %% 7],
               CASE WHEN g %% 100 <> 0 THEN timestamptz '2026-02-01' - make_interval(secs => g * 7) END,
               CASE WHEN g %% 100 <> 0 THEN 'last message of chat ' || g END
        FROM generate_series(1, %(count)s) g
        JOIN contacts k ON k.tenant_id = %(tenant)s AND k.identifier = '+1555' || lpad(g::text, 7, '0')
        """,
        {"tenant": tenant_id, "connections": connections, "count": count},
    )


def _fill_messages(admin: psycopg.Connection[Any], tenant_id: UUID, conversation_id: int, agent_id: UUID) -> None:
    """Customer, agent, business (synced outbound) and system messages, one in fifty with an image."""
    admin.execute(
        sql.SQL("""
        INSERT INTO messages (tenant_id, conversation_id, external_id, direction, type, content, media_url,
                              media_mime_type, sent_at, status, source, author_user_id, is_system)
        SELECT %(tenant)s, %(conversation)s, 'm' || g,
               CASE WHEN g %% 3 = 0 THEN 'outbound' ELSE 'inbound' END,
               CASE WHEN g %% 50 = 0 THEN 'image' ELSE 'text' END,
               {text},
               CASE WHEN g %% 50 = 0 THEN 'https://media.example.com/' || g || '.jpg' END,
               CASE WHEN g %% 50 = 0 THEN 'image/jpeg' END,
               timestamptz '2024-01-01' + make_interval(secs => g * 30),
               CASE WHEN g %% 3 = 0 THEN 'sent' ELSE 'received' END, 'ingest',
               CASE WHEN g %% 6 = 0 THEN %(agent)s::uuid END,
               g %% 997 = 0
        FROM generate_series(1, %(count)s) g
        """).format(text=sql.SQL(MESSAGE_TEXT_SQL)),
        {
            "tenant": tenant_id,
            "conversation": conversation_id,
            "agent": agent_id,
            "count": MESSAGES,
            "words": VOCABULARY,
        },
    )


def arrange(admin: psycopg.Connection[Any]) -> Arranged:
    from threadline.db.repositories.tenants import insert_user

    started = time.perf_counter()
    tenant_id, connections = _create_tenant(admin, "bench_read", LOCATIONS)
    other_id, other_connections = _create_tenant(admin, "bench_other", 0)
    _fill_conversations(admin, tenant_id, connections, CONVERSATIONS)
    _fill_conversations(admin, other_id, other_connections, OTHER_TENANT_CONVERSATIONS)
    agent = insert_user(admin, tenant_id=tenant_id, name="Ana Agent", email="ana@bench.test")
    deep = admin.execute(
        "SELECT id FROM conversations WHERE tenant_id = %s AND external_conversation_id = 'chat_1'", (tenant_id,)
    ).fetchone()
    assert deep is not None
    _fill_messages(admin, tenant_id, deep[0], agent.id)
    inbox = arrange_inbox(admin, tenant_id)
    for table in (
        "messages",
        "conversations",
        "contacts",
        "connections",
        "locations",
        "users",
        "tenants",
        "teams",
        "labels",
        "conversation_labels",
        "inbox_count_deltas",
    ):
        admin.execute(f"VACUUM ANALYZE {table}")
    location = admin.execute(
        "SELECT location_id FROM connections WHERE id = %s", (connections[LOCATIONS // 2],)
    ).fetchone()
    assert location is not None
    return Arranged(tenant_id, deep[0], location[0], inbox, time.perf_counter() - started)


# ---------------------------------------------------------------------------------------------------------------
# The cases
# ---------------------------------------------------------------------------------------------------------------


def route_event(
    event_file: str, tenant_id: UUID, *, path_id: int | None, query: dict[str, str], sub: str = "bench-agent"
) -> dict[str, Any]:
    event = copy.deepcopy(json.loads((EVENTS / event_file).read_text("utf-8")))
    event["requestContext"]["authorizer"]["jwt"]["claims"] = {"sub": sub, "tenant_id": str(tenant_id)}
    if path_id is not None:
        name = next(iter(event["pathParameters"]))
        event["pathParameters"][name] = str(path_id)
        event["rawPath"] = event["routeKey"].split(" ", 1)[1].replace(f"{{{name}}}", str(path_id))
        event["requestContext"]["http"]["path"] = event["rawPath"]
    event["queryStringParameters"] = query
    event["rawQueryString"] = "&".join(f"{key}={value}" for key, value in query.items())
    return event


@dataclass
class Case:
    label: str
    call: Callable[[], Any]
    calls: int
    seconds: list[float] = field(default_factory=list)
    # The team inbox's cases: which target they are measured against ("list", "counts", "search", "baseline").
    inbox_group: str | None = None

    def row(self) -> list[object]:
        return [
            self.label,
            len(self.seconds),
            median(self.seconds) * 1000,
            percentile(self.seconds, 99) * 1000,
            max(self.seconds) * 1000,
        ]


def handler_call(function: str, event: dict[str, Any], expected_rows: int) -> Callable[[], Any]:
    handler = load_handler(load_template().functions[function])

    def call() -> Any:
        response = handler(event, LocalLambdaContext(function_name=function))
        if response["statusCode"] != 200:
            raise RuntimeError(f"{function} answered {response['statusCode']}: {response['body'][:300]}")
        body = json.loads(response["body"])
        rows = body.get("messages") or body.get("conversations") or body.get("data", {}).get("messages")
        if len(rows) != expected_rows:
            raise RuntimeError(f"{function} returned {len(rows)} rows, expected {expected_rows}")
        return body

    return call


def owner_query(url: str, query: str, params: dict[str, Any], expected_rows: int) -> Callable[[], Any]:
    conn = psycopg.connect(url, autocommit=True)

    def call() -> Any:
        rows = conn.execute(query, params).fetchall()
        if len(rows) != expected_rows:
            raise RuntimeError(f"owner query returned {len(rows)} rows, expected {expected_rows}")
        return rows

    return call


def app_role_count(tenant_id: UUID) -> Callable[[], Any]:
    """An exact count(*) of the tenant's conversations, as the functions' role under RLS."""
    from threadline.db.tenancy import run_in_transaction

    def call() -> Any:
        return run_in_transaction(
            lambda conn: conn.execute(
                "SELECT count(*) FROM conversations WHERE tenant_id = %s AND platform <> 'workspace'", (tenant_id,)
            ).fetchone(),
            tenant_id=tenant_id,
        )

    return call


def inbox_handler_call(tenant_id: UUID) -> Callable[[str, dict[str, str], UUID], Callable[[], Any]]:
    """ListConversationsFunction's handler for one of its sample events, as the agent `sub`; checks the 200."""
    handler = load_handler(load_template().functions["ListConversationsFunction"])

    def for_event(event_file: str, query: dict[str, str], sub: UUID) -> Callable[[], Any]:
        event = route_event(event_file, tenant_id, path_id=None, query=query, sub=str(sub))

        def call() -> Any:
            response = handler(event, LocalLambdaContext(function_name="ListConversationsFunction"))
            if response["statusCode"] != 200:
                raise RuntimeError(f"{event_file} {query} answered {response['statusCode']}: {response['body'][:300]}")
            return response

        return call

    return for_event


def app_role_query(query: str, params: dict[str, Any], tenant_id: UUID) -> Callable[[], Any]:
    """A bare query as the functions' role under RLS (a baseline)."""
    from threadline.db.tenancy import run_in_transaction

    def call() -> Any:
        return run_in_transaction(lambda conn: conn.execute(query, params).fetchall(), tenant_id=tenant_id)

    return call


# The seed document's "SQL Query Pattern", on our tables: join authors, ORDER BY creation, LIMIT/OFFSET.
_SEED_PATTERN = """
SELECT m.id, m.content AS body, m.author_user_id IS NOT NULL AS is_agent, m.is_system, m.sent_at,
       COALESCE(u.id, k.id) AS author_id, COALESCE(u.name, k.name) AS author_name,
       CASE WHEN m.author_user_id IS NOT NULL THEN 'agent' WHEN m.direction = 'inbound' THEN 'customer'
            ELSE 'system' END AS author_type,
       COALESCE(u.avatar_url, k.avatar_url) AS avatar_url
FROM messages m
JOIN conversations c ON c.id = m.conversation_id
LEFT JOIN users u ON u.id = m.author_user_id
LEFT JOIN contacts k ON k.id = c.contact_id AND m.direction = 'inbound'
WHERE m.conversation_id = %(conversation)s
ORDER BY m.sent_at ASC
LIMIT %(limit)s OFFSET %(offset)s
"""


def build_cases(url: str, arranged: Arranged) -> dict[str, Case]:
    from threadline.db.repositories.conversations import ConversationFilters
    from threadline.domain.inbox.conversations import conversation_list_fingerprint
    from threadline.domain.inbox.messages import message_list_fingerprint
    from threadline.domain.pagination import encode_cursor, encode_keyset_cursor, timestamp_key

    tenant, deep = arranged.tenant_id, arranged.deep_conversation_id
    with psycopg.connect(url) as admin:
        middle_message = admin.execute(
            "SELECT sent_at, id FROM messages WHERE conversation_id = %s ORDER BY sent_at DESC, id DESC"
            " OFFSET %s LIMIT 1",
            (deep, MESSAGES // 2),
        ).fetchone()
        middle_conversation = admin.execute(
            "SELECT last_message_at, id FROM conversations WHERE tenant_id = %s AND platform <> 'workspace'"
            " ORDER BY last_message_at DESC NULLS LAST, id DESC OFFSET %s LIMIT 1",
            (tenant, CONVERSATIONS // 2),
        ).fetchone()
    assert middle_message is not None and middle_conversation is not None
    message_cursor = encode_cursor(message_list_fingerprint(deep), *middle_message)
    conversation_cursor = encode_keyset_cursor(
        conversation_list_fingerprint(ConversationFilters()),
        [timestamp_key(middle_conversation[0]), middle_conversation[1]],
    )
    middle_page = MESSAGES // 2 // MESSAGE_PAGE
    last_page = MESSAGES // MESSAGE_PAGE

    def messages(event_file: str, query: dict[str, str]) -> Callable[[], Any]:
        return handler_call(
            "ListMessagesFunction", route_event(event_file, tenant, path_id=deep, query=query), MESSAGE_PAGE
        )

    def conversations(query: dict[str, str]) -> Callable[[], Any]:
        return handler_call(
            "ListConversationsFunction",
            route_event("list-conversations-v1.json", tenant, path_id=None, query=query),
            CONVERSATION_PAGE,
        )

    page = {"limit": str(MESSAGE_PAGE)}
    listing = {"limit": str(CONVERSATION_PAGE)}
    cases = [
        Case("messages: first page (v1, newest)", messages("list-messages-v1.json", page), FAST_CALLS),
        Case(
            "messages: deep page by cursor (500,000 in)",
            messages("list-messages-v1.json", page | {"before": message_cursor}),
            FAST_CALLS,
        ),
        Case("messages: agent page 1 (asc)", messages("agent-conversation-messages.json", page), FAST_CALLS),
        Case(
            f"messages: agent page {middle_page:,} (asc, the middle)",
            messages("agent-conversation-messages.json", page | {"page": str(middle_page)}),
            SLOW_CALLS,
        ),
        Case(
            f"messages: agent page {last_page:,} (asc, the last)",
            messages("agent-conversation-messages.json", page | {"page": str(last_page)}),
            FAST_CALLS,
        ),
        Case(
            "baseline: seed SQL pattern, OFFSET 500,000 (owner)",
            owner_query(url, _SEED_PATTERN, {"conversation": deep, "limit": MESSAGE_PAGE, "offset": MESSAGES // 2}, 50),
            SLOW_CALLS,
        ),
        Case("conversations: first page", conversations(listing), FAST_CALLS),
        Case(
            "conversations: deep page by cursor (50,000 in)",
            conversations(listing | {"cursor": conversation_cursor}),
            FAST_CALLS,
        ),
        Case(
            "conversations: deep page by offset (50,000)",
            conversations(listing | {"offset": str(CONVERSATIONS // 2)}),
            FAST_CALLS,
        ),
        Case("conversations: status=open", conversations(listing | {"status": "open"}), FAST_CALLS),
        Case(
            "conversations: location_id",
            conversations(listing | {"location_id": str(arranged.location_id)}),
            FAST_CALLS,
        ),
        Case(
            "conversations: location_id + status=pending",
            conversations(listing | {"location_id": str(arranged.location_id), "status": "pending"}),
            FAST_CALLS,
        ),
        Case(
            "baseline: first-page SQL alone (owner, no handler)",
            owner_query(
                url,
                "SELECT c.id, k.name FROM conversations c JOIN contacts k ON k.id = c.contact_id"
                " WHERE c.tenant_id = %(tenant)s AND c.platform <> 'workspace'"
                " ORDER BY c.last_message_at DESC NULLS LAST, c.id DESC LIMIT 21",
                {"tenant": tenant},
                21,
            ),
            FAST_CALLS,
        ),
        Case("baseline: exact count(*) of 100,000 (app role)", app_role_count(tenant), FAST_CALLS),
    ]
    cases += [
        Case(label, call, calls, inbox_group=group)
        for label, call, calls, group in inbox_cases(
            tenant_id=tenant,
            arranged=arranged.inbox,
            handler_call=inbox_handler_call(tenant),
            app_role_query=app_role_query,
            calls=FAST_CALLS,
            slow_calls=SLOW_CALLS,
        )
    ]
    return {case.label: case for case in cases}


def run_interleaved(cases: dict[str, Case]) -> None:
    """The fast cases together, then the slow ones together: a slow case reads hundreds of megabytes, and
    interleaving it with the fast ones would measure cache eviction (128 MB of shared_buffers) in their p99."""
    for group in (FAST_CALLS, SLOW_CALLS):
        members = [case for case in cases.values() if case.calls == group]
        with open(os.devnull, "w") as devnull, redirect_stdout(devnull):  # the handlers' EMF metrics lines
            for round_index in range(group + WARMUP_CALLS):
                for case in members:
                    started = time.perf_counter()
                    case.call()
                    if round_index >= WARMUP_CALLS:
                        case.seconds.append(time.perf_counter() - started)


def print_report(arranged: Arranged, cases: dict[str, Case]) -> None:
    print_header("Read API at depth: handler time through the real lambda_handler (app role, RLS)")
    print(
        f"   {MESSAGES:,} messages in one conversation; {CONVERSATIONS:,} conversations in one tenant over {LOCATIONS}"
        f" locations (+{OTHER_TENANT_CONVERSATIONS:,} in another tenant) [arranged in {arranged.seconds:.1f} s]"
    )
    print(
        f"   pages of {MESSAGE_PAGE} messages / {CONVERSATION_PAGE} conversations; {FAST_CALLS} timed calls per case"
        f" ({SLOW_CALLS} for the slow ones, run after the others: their p99 is nearly their max), interleaved,"
        f" after {WARMUP_CALLS} warm-ups"
    )
    print()
    print_table(
        ["case", "calls", "p50 ms", "p99 ms", "max ms"],
        [case.row() for case in cases.values() if case.inbox_group is None],
    )
    print()
    print("Team inbox: finding work (50 agents, 10 teams, 30 labels; search over the 1,000,000 messages)")
    inbox = [
        (case.label, case.inbox_group, median(case.seconds) * 1000, percentile(case.seconds, 99) * 1000)
        for case in cases.values()
        if case.inbox_group is not None
    ]
    print_table(["case", "p50 ms", "p99 ms", "target p99 ms", "target"], targets_report(inbox))
    print()

    def p99(label_start: str) -> float:
        case = next(case for label, case in cases.items() if label.startswith(label_start))
        return percentile(case.seconds, 99)

    message_ratio = ratio(p99("messages: deep page by cursor"), p99("messages: first page"))
    print_ratio(
        "messages: deep-by-cursor p99 / first-page p99", message_ratio, target="<= 1.5", met=message_ratio <= 1.5
    )
    conversation_ratio = ratio(p99("conversations: deep page by cursor"), p99("conversations: first page"))
    print_ratio(
        "conversations: deep-by-cursor p99 / first-page p99",
        conversation_ratio,
        target="<= 1.5",
        met=conversation_ratio <= 1.5,
    )
    # The list as a client opens it: the first page, unfiltered and with each filter (deep pages are above).
    listing = [
        case
        for label, case in cases.items()
        if label.startswith("conversations:") and "deep page" not in label and case.inbox_group is None
    ]
    worst = max(listing, key=lambda case: percentile(case.seconds, 99))
    worst_ms = percentile(worst.seconds, 99) * 1000
    print(
        f"conversation list with and without filters, worst p99 of {len(listing)} cases: {worst_ms:.1f} ms"
        f" ({worst.label})  (target < 20 ms: {'met' if worst_ms < 20 else 'MISSED'})"
    )
    middle = next(case for label, case in cases.items() if "the middle" in label)
    seed = cases["baseline: seed SQL pattern, OFFSET 500,000 (owner)"]
    print(
        f"numbered page in the middle (handler) vs the seed's SQL at the same depth (bare query): p50"
        f" {median(middle.seconds) * 1000:.1f} vs {median(seed.seconds) * 1000:.1f} ms"
    )


def main() -> None:
    with throwaway_database() as url, psycopg.connect(url, autocommit=True) as admin:
        arranged = arrange(admin)
        cases = build_cases(url, arranged)
        run_interleaved(cases)
    print_report(arranged, cases)


if __name__ == "__main__":
    main()
