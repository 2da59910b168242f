"""Messages per second through the real ingest handler, beside raw COPY (the ceiling) and the seed's JSONB model.

Every request carries 5 conversations x 100 messages with new message ids, into conversations that already hold
4,000 messages each, in a database that also holds another tenant's history. The three ways of storing run
interleaved, request by request, on the same server and the same messages table shape, each in its own tenant:

- handler: the IngestFunction's lambda_handler with an API Gateway HTTP API v2.0 event, as Lambda would call it
  (JSON + pydantic parse, API-key check, one set-based statement, commit, response), connected as threadline_app,
  with real-time publishing on as in AWS (WEBSOCKET_MANAGEMENT_URL set; nobody subscribes, so nothing is posted);
- COPY: `COPY messages (...) FROM STDIN` of the same rows as the owner, one committed transaction per request;
- JSONB model: the seed's edge function in Python, one transaction per request: per conversation read the row,
  dedupe against its JSONB array, append, rewrite the whole array. It skips the seed's connection lookup and
  contact matching, which only flatters it.

Run: `make bench-ingest` (or `.venv/bin/python -m bench.ingest`). Prints figures; asserts nothing about timings.
"""

from __future__ import annotations

import copy
import json
import os
import random
import time
from collections.abc import Callable
from contextlib import redirect_stdout
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from bench.common import median, percentile, print_header, print_ratio, print_table, ratio, throwaway_database
from devtools.lambda_runtime import LocalLambdaContext, load_handler
from devtools.localenv import configure_local_websocket
from devtools.paths import REPO_ROOT
from devtools.template import load_template

CONVERSATIONS_PER_REQUEST = 5
MESSAGES_PER_CONVERSATION = 100
MESSAGES_PER_REQUEST = CONVERSATIONS_PER_REQUEST * MESSAGES_PER_CONVERSATION
WARMUP_REQUESTS = 2
TIMED_REQUESTS = 50
BREAKDOWN_REQUESTS = 10
EXISTING_MESSAGES_PER_CONVERSATION = 4_000  # 20,000 in the 5 conversations each request lands in
BACKGROUND_CONVERSATIONS = 100
BACKGROUND_MESSAGES_PER_CONVERSATION = 1_000  # another tenant's history: 100,000 rows
PLATFORM = "whatsapp"
EVENT_FILE = REPO_ROOT / "events" / "ingest-seed-path.json"
FIRST_SENT_AT = datetime(2026, 2, 1, tzinfo=UTC)
BENCH_MANAGEMENT_URL = "http://127.0.0.1:9"  # the discard port: a frame sent here would fail, and none is

_VOCABULARY = (
    "hi hello thanks order delivery tomorrow price invoice please can you send the photo again address is "
    "confirmed refund sorry for the delay we will call you at noon what size do you need blue one available "
    "yes no maybe great perfect ok see you soon tracking number payment received shipped today"
)
_WORDS = _VOCABULARY.split()


@dataclass(frozen=True)
class Lane:
    """One way of storing, in its own tenant so the three never collide on (conversation_id, external_id)."""

    name: str
    tenant_id: UUID
    connection_id: str
    api_secret: str


# ---------------------------------------------------------------------------------------------------------------
# The requests: identical message content for every lane
# ---------------------------------------------------------------------------------------------------------------


def conversation_ids(count: int, prefix: str = "chat") -> list[tuple[str, str]]:
    """(external_conversation_id, participant phone number) pairs."""
    return [(f"{prefix}_{index:04d}", f"+1555{index:07d}") for index in range(count)]


def generate_requests(count: int, rng: random.Random) -> list[list[dict[str, Any]]]:
    """`count` requests, each a list of conversations in the ingest contract's shape; sent_at moves forward."""
    sent_at = FIRST_SENT_AT
    requests = []
    for _ in range(count):
        conversations = []
        for external_id, phone in conversation_ids(CONVERSATIONS_PER_REQUEST):
            messages = []
            for _ in range(MESSAGES_PER_CONVERSATION):
                sent_at += timedelta(seconds=rng.randint(1, 90))
                is_image = rng.random() < 0.05
                messages.append(
                    {
                        "id": f"wamid.{rng.getrandbits(128):032x}",
                        "direction": rng.choice(("inbound", "inbound", "outbound")),
                        "type": "image" if is_image else "text",
                        "content": " ".join(rng.choices(_WORDS, k=rng.randint(2, 30))),
                        "media_url": f"https://media.example.com/{rng.getrandbits(64):016x}.jpg" if is_image else None,
                        "sent_at": sent_at.isoformat().replace("+00:00", "Z"),
                    }
                )
            conversations.append(
                {
                    "external_conversation_id": external_id,
                    "participant_identifier": phone,
                    "participant_name": f"Customer {external_id}",
                    "messages": messages,
                }
            )
        requests.append(conversations)
    return requests


def request_body(lane: Lane, conversations: list[dict[str, Any]]) -> str:
    return json.dumps({"platform": PLATFORM, "connection_id": lane.connection_id, "conversations": conversations})


def ingest_event(template: dict[str, Any], api_key: str, body: str) -> dict[str, Any]:
    event = copy.deepcopy(template)
    event["headers"]["x-api-key"] = api_key
    event["body"] = body
    return event


# ---------------------------------------------------------------------------------------------------------------
# Arranging the database
# ---------------------------------------------------------------------------------------------------------------


def create_lane(admin: psycopg.Connection[Any], name: str) -> Lane:
    from threadline.db.repositories.tenants import insert_tenant
    from threadline.domain.intake.connections import create_connection

    tenant = insert_tenant(admin, f"bench {name}")
    created = create_connection(admin, tenant_id=tenant.id, platform=PLATFORM, connection_id=f"bench_{name}")
    return Lane(name, tenant.id, created.connection.connection_id, created.api_secret)


def create_conversations_through_handler(handler: Any, template: dict[str, Any], lane: Lane, count: int) -> None:
    """One message per conversation, through the handler itself, so contacts and conversations are the product's."""
    conversations = [
        {
            "external_conversation_id": external_id,
            "participant_identifier": phone,
            "messages": [
                {
                    "id": f"first.{external_id}",
                    "direction": "inbound",
                    "type": "text",
                    "content": "hello",
                    "sent_at": "2025-01-01T00:00:00Z",
                }
            ],
        }
        for external_id, phone in conversation_ids(count)
    ]
    event = ingest_event(template, lane.api_secret, request_body(lane, conversations))
    with open(os.devnull, "w") as devnull, redirect_stdout(devnull):
        response = handler(event, LocalLambdaContext(function_name="IngestFunction"))
    if response["statusCode"] != 200:
        raise RuntimeError(f"arranging {lane.name} failed: {response}")


def fill_history(admin: psycopg.Connection[Any], lane: Lane, per_conversation: int) -> None:
    """`per_conversation` older messages in each of the lane's conversations, of the same sizes as the requests'."""
    admin.execute(
        """
        INSERT INTO messages (tenant_id, conversation_id, external_id, direction, type, content, sent_at, status, source)
        SELECT c.tenant_id, c.id, 'history.' || c.id || '.' || g,
               CASE WHEN g %% 3 = 0 THEN 'outbound' ELSE 'inbound' END, 'text',
               left(repeat('order delivery tomorrow thanks ', 1 + g %% 6), 180),
               %(before)s::timestamptz - make_interval(secs => %(per)s - g),
               CASE WHEN g %% 3 = 0 THEN 'sent' ELSE 'received' END, 'ingest'
        FROM conversations c CROSS JOIN generate_series(1, %(per)s) g
        WHERE c.tenant_id = %(tenant)s
        """,
        {"tenant": lane.tenant_id, "per": per_conversation, "before": FIRST_SENT_AT},
    )


_SEED_MODEL_TABLE = """
CREATE TABLE seed_model_conversations (
    id                       bigserial PRIMARY KEY,
    tenant_id                uuid NOT NULL,
    platform                 text NOT NULL,
    external_conversation_id text NOT NULL,
    participant_identifier   text,
    participant_name         text,
    messages                 jsonb NOT NULL DEFAULT '[]',
    last_message_at          timestamptz,
    last_message_preview     text,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, platform, external_conversation_id)
)
"""


def fill_seed_model(admin: psycopg.Connection[Any], lane: Lane, per_conversation: int) -> None:
    admin.execute(_SEED_MODEL_TABLE)
    for external_id, phone in conversation_ids(CONVERSATIONS_PER_REQUEST):
        history = [
            {
                "id": f"history.{external_id}.{index}",
                "direction": "outbound" if index % 3 == 0 else "inbound",
                "type": "text",
                "content": ("order delivery tomorrow thanks " * (1 + index % 6))[:180],
                "media_url": None,
                "sent_at": (FIRST_SENT_AT - timedelta(seconds=per_conversation - index)).isoformat(),
            }
            for index in range(1, per_conversation + 1)
        ]
        admin.execute(
            "INSERT INTO seed_model_conversations (tenant_id, platform, external_conversation_id,"
            " participant_identifier, messages, last_message_at, last_message_preview)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (lane.tenant_id, PLATFORM, external_id, phone, Jsonb(history), history[-1]["sent_at"], "thanks"),
        )


# ---------------------------------------------------------------------------------------------------------------
# The three ways of storing one request
# ---------------------------------------------------------------------------------------------------------------

_COPY_MESSAGES = (
    "COPY messages (tenant_id, conversation_id, external_id, direction, type, content, media_url, sent_at, status,"
    " source) FROM STDIN"
)


def copy_rows(lane: Lane, ids_by_external_id: dict[str, int], conversations: list[dict[str, Any]]) -> list[tuple]:
    return [
        (
            lane.tenant_id,
            ids_by_external_id[conversation["external_conversation_id"]],
            message["id"],
            message["direction"],
            message["type"],
            message["content"],
            message["media_url"],
            datetime.fromisoformat(message["sent_at"]),
            "received" if message["direction"] == "inbound" else "sent",
            "ingest",
        )
        for conversation in conversations
        for message in conversation["messages"]
    ]


def store_with_copy(conn: psycopg.Connection[Any], rows: list[tuple]) -> int:
    with conn.transaction(), conn.cursor() as cursor:
        with cursor.copy(_COPY_MESSAGES) as copy_in:
            for row in rows:
                copy_in.write_row(row)
        return cursor.rowcount


def store_in_seed_model(conn: psycopg.Connection[Any], tenant_id: UUID, body: str) -> int:
    """The seed's edge function: one row per conversation, its messages one JSONB array rewritten on every append."""
    request = json.loads(body)
    added = 0
    with conn.transaction():
        for conversation in request["conversations"]:
            row = conn.execute(
                "SELECT id, messages, last_message_at FROM seed_model_conversations"
                " WHERE tenant_id = %s AND platform = %s AND external_conversation_id = %s FOR UPDATE",
                (tenant_id, request["platform"], conversation["external_conversation_id"]),
            ).fetchone()
            existing: list[dict[str, Any]] = row[1] if row else []
            seen = {message["id"] for message in existing}
            new_messages = []
            for message in conversation["messages"]:
                if message["id"] not in seen:
                    seen.add(message["id"])
                    new_messages.append(message)
            if not new_messages:
                continue
            newest = max(new_messages, key=lambda message: message["sent_at"])
            newest_at = datetime.fromisoformat(newest["sent_at"])
            if row is None:
                conn.execute(
                    "INSERT INTO seed_model_conversations (tenant_id, platform, external_conversation_id,"
                    " participant_identifier, participant_name, messages, last_message_at, last_message_preview)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                    (
                        tenant_id,
                        request["platform"],
                        conversation["external_conversation_id"],
                        conversation["participant_identifier"],
                        conversation.get("participant_name"),
                        Jsonb(new_messages),
                        newest_at,
                        newest["content"][:100],
                    ),
                )
            else:
                moves_forward = row[2] is None or newest_at > row[2]
                conn.execute(
                    "UPDATE seed_model_conversations SET messages = %s,"
                    " last_message_at = CASE WHEN %s THEN %s ELSE last_message_at END,"
                    " last_message_preview = CASE WHEN %s THEN %s ELSE last_message_preview END,"
                    " updated_at = now() WHERE id = %s",
                    (
                        Jsonb(existing + new_messages),
                        moves_forward,
                        newest_at,
                        moves_forward,
                        newest["content"][:100],
                        row[0],
                    ),
                )
            added += len(new_messages)
    return added


# ---------------------------------------------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class Measured:
    seconds: list[float]
    messages: int = 0

    @property
    def messages_per_second(self) -> float:
        return ratio(self.messages, sum(self.seconds))

    def row(self, label: str) -> list[object]:
        return [
            label,
            len(self.seconds),
            self.messages,
            median(self.seconds) * 1000,
            percentile(self.seconds, 95) * 1000,
            median(self.seconds[:10]) * 1000,
            median(self.seconds[-10:]) * 1000,
            self.messages_per_second,
        ]


def timed(work: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    outcome = work()
    return time.perf_counter() - started, outcome


def messages_added(response: dict[str, Any]) -> int:
    if response["statusCode"] != 200:
        raise RuntimeError(f"ingest answered {response['statusCode']}: {response['body'][:300]}")
    return sum(result["messages_added"] for result in json.loads(response["body"])["results"])


def breakdown(lane: Lane, bodies: list[str]) -> dict[str, list[float]]:
    """The handler's pieces, called one by one on the same connection the handler uses."""
    from threadline.db.connection import app_connection
    from threadline.db.repositories.ingest import store_conversation_batch
    from threadline.db.repositories.lifecycle import find_inbound_follow_up
    from threadline.db.tenancy import set_transaction_tenant
    from threadline.domain.intake.ingest import authorise_connector, build_batch
    from threadline.models.ingest import IngestResponse, IngestResult, parse_ingest_request

    pieces: dict[str, list[float]] = {
        name: []
        for name in (
            "JSON + pydantic parse",
            "build_batch",
            "authorise (lookup + digest) + set tenant + follow-up read",
            "store_conversation_batch (dump params + statement)",
            "commit",
            "response model + json.dumps",
        )
    }
    names = list(pieces)
    for body in bodies:
        marks = [time.perf_counter()]
        request = parse_ingest_request(body)
        marks.append(time.perf_counter())
        batch = build_batch(request.conversations)
        marks.append(time.perf_counter())
        conn = app_connection()
        with conn.transaction():
            connection = authorise_connector(conn, lane.api_secret, request)
            with conn.pipeline():
                set_transaction_tenant(conn, connection.tenant_id)
                find_inbound_follow_up(conn, connection.tenant_id)
            marks.append(time.perf_counter())
            stored = store_conversation_batch(
                conn, tenant_id=connection.tenant_id, connection_uuid=connection.id, platform=PLATFORM, batch=batch
            )
            marks.append(time.perf_counter())
        marks.append(time.perf_counter())
        results = [
            IngestResult(
                conversation_id=row.conversation_id,
                external_conversation_id=row.external_conversation_id,
                messages_added=row.messages_added,
                status="updated",
            )
            for row in stored
        ]
        json.dumps(IngestResponse(processed=len(results), results=results).model_dump(mode="json"))
        marks.append(time.perf_counter())
        if sum(row.messages_added for row in stored) != MESSAGES_PER_REQUEST:
            raise RuntimeError("breakdown request did not store every message")
        for index, name in enumerate(names):
            pieces[name].append(marks[index + 1] - marks[index])
    return pieces


@dataclass
class Arranged:
    lanes: dict[str, Lane]
    history_rows: int
    seconds: float
    handler_events: list[dict[str, Any]]
    copy_rows: list[list[tuple]]
    seed_bodies: list[str]


def arrange(admin: psycopg.Connection[Any], handler: Any, requests: list[list[dict[str, Any]]]) -> Arranged:
    """Tenants, conversations and history for each way of storing, then every request prepared ahead of timing."""
    started = time.perf_counter()
    template = json.loads(EVENT_FILE.read_text("utf-8"))
    lanes = {name: create_lane(admin, name) for name in ("handler", "copy", "jsonb", "background")}
    for name in ("handler", "copy"):
        create_conversations_through_handler(handler, template, lanes[name], CONVERSATIONS_PER_REQUEST)
        fill_history(admin, lanes[name], EXISTING_MESSAGES_PER_CONVERSATION - 1)
    create_conversations_through_handler(handler, template, lanes["background"], BACKGROUND_CONVERSATIONS)
    fill_history(admin, lanes["background"], BACKGROUND_MESSAGES_PER_CONVERSATION - 1)
    fill_seed_model(admin, lanes["jsonb"], EXISTING_MESSAGES_PER_CONVERSATION)
    for table in ("messages", "conversations", "contacts", "seed_model_conversations"):
        admin.execute(f"VACUUM ANALYZE {table}")
    history_rows = admin.execute("SELECT count(*) FROM messages").fetchone()[0]  # type: ignore[index]
    copy_ids: dict[str, int] = dict(
        admin.execute(
            "SELECT external_conversation_id, id FROM conversations WHERE tenant_id = %s", (lanes["copy"].tenant_id,)
        ).fetchall()
    )
    return Arranged(
        lanes=lanes,
        history_rows=history_rows,
        seconds=time.perf_counter() - started,
        handler_events=[
            ingest_event(template, lanes["handler"].api_secret, request_body(lanes["handler"], conversations))
            for conversations in requests
        ],
        copy_rows=[copy_rows(lanes["copy"], copy_ids, conversations) for conversations in requests],
        seed_bodies=[request_body(lanes["jsonb"], conversations) for conversations in requests],
    )


def run_interleaved(url: str, handler: Any, arranged: Arranged) -> dict[str, Measured]:
    """Request i of every way of storing, then request i + 1: drift on a shared machine hits all three alike."""
    results = {name: Measured([]) for name in ("handler", "copy", "jsonb")}
    with psycopg.connect(url) as copy_conn, psycopg.connect(url) as seed_conn, open(os.devnull, "w") as devnull:
        seed_tenant = arranged.lanes["jsonb"].tenant_id
        # Each way: (what is timed for request i, how many messages its outcome says were stored).
        ways: dict[str, tuple[Callable[[int], Any], Callable[[Any], int]]] = {
            "handler": (
                lambda i: handler(arranged.handler_events[i], LocalLambdaContext(function_name="IngestFunction")),
                messages_added,
            ),
            "copy": (lambda i: store_with_copy(copy_conn, arranged.copy_rows[i]), int),
            "jsonb": (lambda i: store_in_seed_model(seed_conn, seed_tenant, arranged.seed_bodies[i]), int),
        }
        order = list(ways)
        for round_index in range(WARMUP_REQUESTS + TIMED_REQUESTS):
            # Rotate who goes first, so checkpoints and autovacuum do not always land on the same way.
            shift = round_index % len(order)
            for name in order[shift:] + order[:shift]:
                store, count = ways[name]
                with redirect_stdout(devnull):  # the handler's EMF metrics line, one per invocation
                    seconds, outcome = timed(partial(store, round_index))
                stored = count(outcome)
                if stored != MESSAGES_PER_REQUEST:
                    raise RuntimeError(f"{name} stored {stored} of {MESSAGES_PER_REQUEST} messages")
                if round_index >= WARMUP_REQUESTS:
                    results[name].seconds.append(seconds)
                    results[name].messages += stored
    return results


def print_report(arranged: Arranged, results: dict[str, Measured], pieces: dict[str, list[float]]) -> None:
    handler_result, copy_result, seed_result = results["handler"], results["copy"], results["jsonb"]
    print_header("Ingest throughput: the real handler vs raw COPY vs the seed's JSONB model")
    print(
        f"   each request: {CONVERSATIONS_PER_REQUEST} conversations x {MESSAGES_PER_CONVERSATION} messages, new ids;"
        f" {WARMUP_REQUESTS} warm-up + {TIMED_REQUESTS} timed requests per way, interleaved"
    )
    print(
        f"   before timing: {arranged.history_rows:,} message rows in the database; each way's"
        f" {CONVERSATIONS_PER_REQUEST} conversations hold {EXISTING_MESSAGES_PER_CONVERSATION:,} messages each"
        f" [arranged in {arranged.seconds:.1f} s]"
    )
    print()
    print_table(
        ["way of storing", "requests", "messages", "median ms", "p95 ms", "first 10 ms", "last 10 ms", "messages/s"],
        [
            handler_result.row("handler (IngestFunction, app role, RLS)"),
            copy_result.row("raw COPY as owner (ceiling)"),
            seed_result.row("seed JSONB model (read, dedupe, rewrite)"),
        ],
    )
    print()
    to_copy = ratio(handler_result.messages_per_second, copy_result.messages_per_second)
    to_seed = ratio(handler_result.messages_per_second, seed_result.messages_per_second)
    print_ratio("handler / COPY (messages/s over all timed requests)", to_copy, target=">= 0.7", met=to_copy >= 0.7)
    # Per request too: one slow COPY (a checkpoint, a neighbour on the machine) moves the totals' ratio.
    typical = ratio(median(copy_result.seconds), median(handler_result.seconds))
    print_ratio("handler / COPY (median request)", typical, target=">= 0.7", met=typical >= 0.7)
    print_ratio("handler / JSONB model", to_seed, target=">= 10", met=to_seed >= 10)
    handler_median = median(handler_result.seconds)
    print(
        f"handler per request: median {handler_median * 1000:.1f} ms,"
        f" p95 {percentile(handler_result.seconds, 95) * 1000:.1f} ms"
    )

    print(f"\nWhere a 500-message request's time goes (its pieces called directly, median of {BREAKDOWN_REQUESTS}):")
    rows: list[list[object]] = [
        [name, median(seconds) * 1000, ratio(median(seconds), handler_median) * 100] for name, seconds in pieces.items()
    ]
    unaccounted = handler_median - sum(median(seconds) for seconds in pieces.values())
    rows.append(
        [
            "rest of the handler (resolver, Powertools, event, after commit)",
            unaccounted * 1000,
            unaccounted / handler_median * 100,
        ]
    )
    print_table(["piece", "median ms", "% of handler median"], rows)


def main() -> None:
    requests = generate_requests(WARMUP_REQUESTS + TIMED_REQUESTS + BREAKDOWN_REQUESTS, random.Random(20260201))
    with throwaway_database() as url, psycopg.connect(url, autocommit=True) as admin:
        # Publishing on, as every deployed IngestFunction has it: the after-commit steps then cost what they cost in
        # AWS. Nobody subscribes in the bench's tenants, so nothing is ever posted to this (closed) port.
        configure_local_websocket(BENCH_MANAGEMENT_URL)
        handler = load_handler(load_template().functions["IngestFunction"])
        arranged = arrange(admin, handler, requests)
        results = run_interleaved(url, handler, arranged)
        with open(os.devnull, "w") as devnull, redirect_stdout(devnull):
            breakdown_bodies = [event["body"] for event in arranged.handler_events[WARMUP_REQUESTS + TIMED_REQUESTS :]]
            pieces = breakdown(arranged.lanes["handler"], breakdown_bodies)
    print_report(arranged, results, pieces)


if __name__ == "__main__":
    main()
