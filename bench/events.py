"""The event log and webhook deliveries, each figure beside a baseline measured in the same run:

1. Ingest with the log: messages/s (and the events it appends/s) through the real IngestFunction handler with the
   log's triggers, the same handler with them disabled, and raw COPY (the ceiling `make bench-ingest` compares
   with), interleaved request by request; plus a raw multi-row INSERT into `events` (what appending costs bare).
2. Dispatcher: deliveries/s through `dispatch` (claim, sign, pinned POST, record) to one webhook's local receiver,
   in batches of 4 (the attempts one target may have in flight), beside bare HTTP POSTs of the same bodies on as
   many threads.
3. Catch-up: reading 10,000 events through the EventsFunction handler in pages of 500 (p50/p99 per full catch-up
   and per page), beside the same pages as a plain SELECT.
4. Commit to delivery: one-message ingests through the handler with `make dev`'s local dispatcher running, from
   the handler's return (after its commit) to the receiver's arrival (p50/p99), beside a bare POST's round trip.

Run: `make bench-events` (or `.venv/bin/python -m bench.events`). Prints figures; asserts nothing about timings.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import redirect_stdout
from datetime import UTC, datetime
from functools import partial
from typing import Any
from uuid import UUID

import psycopg

from bench.common import median, percentile, print_header, print_ratio, print_table, ratio, throwaway_database
from bench.ingest import (
    EVENT_FILE,
    MESSAGES_PER_REQUEST,
    Lane,
    copy_rows,
    create_conversations_through_handler,
    create_lane,
    fill_history,
    generate_requests,
    ingest_event,
    messages_added,
    request_body,
    store_with_copy,
)
from devtools.lambda_runtime import LocalLambdaContext, load_handler
from devtools.template import load_template
from devtools.webhook_receiver import WebhookReceiver

INGEST_WARMUP = 2
INGEST_TIMED = 30
HISTORY_PER_CONVERSATION = 1_000
# The event log's triggers on the ingest path's tables, found in the catalog (every one appends through
# append_events: migrations 0015 and 0020 name them *_append_*_events), so a migration that adds or replaces one
# is measured without editing this list.
INGEST_TABLES = ("messages", "conversations", "contacts")
RAW_EVENT_ROWS = 500
DELIVERIES = 400
# Batches as large as the dispatcher lets one target have attempts in flight (one webhook receives them all).
DISPATCH_BATCH = 4  # threadline.delivery.dispatcher.MAX_IN_FLIGHT_PER_TARGET (not imported before the environment)
CATCH_UP_EVENTS = 10_000
CATCH_UP_PAGE = 500
CATCH_UP_RUNS = 20
LATENCY_SAMPLES = 60


def _quiet(work: Any) -> Any:
    with open(os.devnull, "w") as devnull, redirect_stdout(devnull):
        return work()


def _set_log_triggers(admin: psycopg.Connection[Any], enabled: bool) -> None:
    verb = "ENABLE" if enabled else "DISABLE"
    found = admin.execute(
        """
        SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
        WHERE NOT t.tgisinternal AND c.relname = ANY(%s) AND t.tgname LIKE '%%append%%events'
        ORDER BY 1, 2
        """,
        (list(INGEST_TABLES),),
    ).fetchall()
    assert found, "no event-log triggers found on the ingest path's tables"
    for table, trigger in found:
        admin.execute(f"ALTER TABLE {table} {verb} TRIGGER {trigger}")


# ---------------------------------------------------------------------------------------------------------------
# 1. Ingest with and without the log
# ---------------------------------------------------------------------------------------------------------------


def bench_ingest(admin: psycopg.Connection[Any], url: str, handler: Any) -> dict[str, Any]:
    template = json.loads(EVENT_FILE.read_text("utf-8"))
    requests = generate_requests(INGEST_WARMUP + INGEST_TIMED, random.Random(20260201))
    lanes = {name: create_lane(admin, name) for name in ("with_log", "without_log", "copy_with_log", "copy")}
    for lane in lanes.values():
        create_conversations_through_handler(handler, template, lane, 5)
        fill_history(admin, lane, HISTORY_PER_CONVERSATION - 1)
    admin.execute("VACUUM ANALYZE messages")
    copy_ids = {
        name: dict(
            admin.execute(
                "SELECT external_conversation_id, id FROM conversations WHERE tenant_id = %s",
                (lanes[name].tenant_id,),
            ).fetchall()
        )
        for name in ("copy_with_log", "copy")
    }
    events = {
        name: [ingest_event(template, lanes[name].api_secret, request_body(lanes[name], c)) for c in requests]
        for name in ("with_log", "without_log")
    }
    rows = {name: [copy_rows(lanes[name], copy_ids[name], c) for c in requests] for name in copy_ids}
    seconds: dict[str, list[float]] = {name: [] for name in lanes}
    appended_before = _event_count(admin, lanes["with_log"].tenant_id)
    with psycopg.connect(url) as copy_conn:
        for index in range(INGEST_WARMUP + INGEST_TIMED):
            order = list(lanes)
            shift = index % len(order)
            for name in order[shift:] + order[:shift]:
                _set_log_triggers(admin, name.endswith("with_log"))
                started = time.perf_counter()
                if name.startswith("copy"):
                    stored = store_with_copy(copy_conn, rows[name][index])
                else:
                    response = _quiet(
                        partial(handler, events[name][index], LocalLambdaContext(function_name="IngestFunction"))
                    )
                    stored = messages_added(response)
                elapsed = time.perf_counter() - started
                if stored != MESSAGES_PER_REQUEST:
                    raise RuntimeError(f"{name} stored {stored} of {MESSAGES_PER_REQUEST}")
                if index >= INGEST_WARMUP:
                    seconds[name].append(elapsed)
    _set_log_triggers(admin, True)
    appended = _event_count(admin, lanes["with_log"].tenant_id) - appended_before
    # A bare append: one multi-row INSERT of as many rows as a request's events, in its own transaction.
    raw: list[float] = []
    bare_tenant = lanes["copy"].tenant_id
    with psycopg.connect(url) as conn:
        for round_index in range(INGEST_TIMED):
            started = time.perf_counter()
            with conn.transaction():
                conn.execute(
                    "INSERT INTO events (tenant_id, seq, type, conversation_id, data)"
                    " SELECT %s, 1000000000 + %s * %s + n, 'message.created', 1,"
                    " jsonb_build_object('message_id', n, 'content', repeat('x', 60))"
                    " FROM generate_series(1, %s) n",
                    (bare_tenant, round_index, RAW_EVENT_ROWS, RAW_EVENT_ROWS),
                )
            raw.append(time.perf_counter() - started)
    return {"seconds": seconds, "appended": appended, "raw": raw}


def _event_count(admin: psycopg.Connection[Any], tenant_id: UUID) -> int:
    row = admin.execute("SELECT count(*) FROM events WHERE tenant_id = %s", (tenant_id,)).fetchone()
    return int(row[0]) if row else 0


# ---------------------------------------------------------------------------------------------------------------
# 2. Dispatcher throughput
# ---------------------------------------------------------------------------------------------------------------


def _tenant_with_webhook(admin: psycopg.Connection[Any], url: str, name: str) -> tuple[Lane, dict[str, str]]:
    from devtools.auth import issue_token, verify_bearer
    from threadline.caller import Caller
    from threadline.domain.events.subscriptions import create_webhook
    from threadline.models.webhook_subscriptions import WebhookCreateRequest

    lane = create_lane(admin, name)
    create_webhook(Caller(lane.tenant_id, None), WebhookCreateRequest(url=url, events=["message.created"]))
    return lane, verify_bearer(f"Bearer {issue_token(tenant_id=str(lane.tenant_id))}")


def _ingest_messages(handler: Any, lane: Lane, count: int, *, prefix: str) -> None:
    template = json.loads(EVENT_FILE.read_text("utf-8"))
    now = datetime.now(UTC).isoformat()
    for start in range(0, count, 500):
        messages = [
            {"id": f"{prefix}{n}", "direction": "inbound", "type": "text", "content": f"message {n}", "sent_at": now}
            for n in range(start, min(start + 500, count))
        ]
        conversations = [
            {
                "external_conversation_id": f"{prefix}chat",
                "participant_identifier": "+15550001111",
                "messages": messages,
            }
        ]
        event = ingest_event(template, lane.api_secret, request_body(lane, conversations))
        response = _quiet(lambda event=event: handler(event, LocalLambdaContext(function_name="IngestFunction")))
        if response["statusCode"] != 200:
            raise RuntimeError(response)


def bench_dispatch(admin: psycopg.Connection[Any], handler: Any) -> dict[str, Any]:
    from threadline.delivery.dispatcher import dispatch
    from threadline.delivery.queue import QueuedDelivery
    from threadline.domain.events.targets import TARGET_KINDS

    with WebhookReceiver() as receiver:
        lane, _ = _tenant_with_webhook(admin, receiver.url, "dispatch")
        _ingest_messages(handler, lane, DELIVERIES, prefix="d")
        rows = admin.execute(
            "SELECT id, body FROM deliveries WHERE tenant_id = %s ORDER BY created_at", (lane.tenant_id,)
        ).fetchall()
        queued = [QueuedDelivery(lane.tenant_id, row[0]) for row in rows]
        started = time.perf_counter()
        for start in range(0, len(queued), DISPATCH_BATCH):
            outcome = _quiet(lambda start=start: dispatch(queued[start : start + DISPATCH_BATCH], kinds=TARGET_KINDS))
            if outcome.delivered != len(queued[start : start + DISPATCH_BATCH]):
                raise RuntimeError(f"dispatch delivered {outcome.delivered} of a batch")
        dispatch_seconds = time.perf_counter() - started
        host, port = receiver.base_url.removeprefix("http://").split(":")
        bodies = [row[1].encode() for row in rows]

        def bare_post(body: bytes) -> int:
            connection = http.client.HTTPConnection(host, int(port), timeout=10)
            try:
                connection.request("POST", "/hooks", body=body, headers={"Content-Type": "application/json"})
                response = connection.getresponse()
                response.read()
                return response.status
            finally:
                connection.close()

        started = time.perf_counter()
        for start in range(0, len(bodies), DISPATCH_BATCH):
            with ThreadPoolExecutor(max_workers=DISPATCH_BATCH) as pool:
                list(pool.map(bare_post, bodies[start : start + DISPATCH_BATCH]))
        bare_seconds = time.perf_counter() - started
        round_trips = []
        for body in bodies[:LATENCY_SAMPLES]:
            began = time.perf_counter()
            bare_post(body)
            round_trips.append(time.perf_counter() - began)
    return {"count": len(queued), "dispatch": dispatch_seconds, "bare": bare_seconds, "round_trips": round_trips}


# ---------------------------------------------------------------------------------------------------------------
# 3. Catch-up reads
# ---------------------------------------------------------------------------------------------------------------


def bench_catch_up(admin: psycopg.Connection[Any], url: str, handler: Any) -> dict[str, Any]:
    lane = create_lane(admin, "catch_up")
    from devtools.auth import issue_token, verify_bearer

    _ingest_messages(handler, lane, CATCH_UP_EVENTS, prefix="c")
    admin.execute("VACUUM ANALYZE events")
    claims = verify_bearer(f"Bearer {issue_token(tenant_id=str(lane.tenant_id))}")
    template = json.loads((EVENT_FILE.parent / "list-events-v1.json").read_text("utf-8"))
    template["requestContext"]["authorizer"]["jwt"]["claims"] = claims
    events_handler = load_handler(load_template().functions["EventsFunction"])

    def page_event(after: int) -> dict[str, Any]:
        event = json.loads(json.dumps(template))
        event["rawQueryString"] = f"after={after}&limit={CATCH_UP_PAGE}"
        event["queryStringParameters"] = {"after": str(after), "limit": str(CATCH_UP_PAGE)}
        return event

    def through_handler() -> tuple[float, list[float], int]:
        pages, after, read = [], 0, 0
        began = time.perf_counter()
        while read < CATCH_UP_EVENTS:
            event = page_event(after)
            started = time.perf_counter()
            response = _quiet(partial(events_handler, event, LocalLambdaContext(function_name="EventsFunction")))
            pages.append(time.perf_counter() - started)
            body = json.loads(response["body"])
            read += len(body["events"])
            after = body["next_after"]
            if not body["events"]:
                break
        return time.perf_counter() - began, pages, read

    def plain_select(conn: psycopg.Connection[Any]) -> tuple[float, list[float], int]:
        pages, after, read = [], 0, 0
        began = time.perf_counter()
        while read < CATCH_UP_EVENTS:
            started = time.perf_counter()
            rows = conn.execute(
                "SELECT seq, type, occurred_at, conversation_id, data FROM events"
                " WHERE tenant_id = %s AND seq > %s ORDER BY seq LIMIT %s",
                (lane.tenant_id, after, CATCH_UP_PAGE),
            ).fetchall()
            pages.append(time.perf_counter() - started)
            read += len(rows)
            if not rows:
                break
            after = rows[-1][0]
        return time.perf_counter() - began, pages, read

    handler_runs, handler_pages, select_runs, select_pages = [], [], [], []
    with psycopg.connect(url) as conn:
        for _ in range(CATCH_UP_RUNS):
            total, pages, read = through_handler()
            handler_runs.append(total)
            handler_pages += pages
            total, pages, _ = plain_select(conn)
            select_runs.append(total)
            select_pages += pages
    return {
        "read": read,
        "handler_runs": handler_runs,
        "handler_pages": handler_pages,
        "select_runs": select_runs,
        "select_pages": select_pages,
    }


# ---------------------------------------------------------------------------------------------------------------
# 4. Commit to delivery
# ---------------------------------------------------------------------------------------------------------------


def bench_latency(admin: psycopg.Connection[Any], handler: Any) -> dict[str, list[float]]:
    """Per one-message ingest: request start -> receiver, and hand-over (right after the commit, in the handler) ->
    receiver."""
    from devtools.local_dispatcher import start_local_dispatcher
    from threadline.delivery.queue import register_local_queue

    arrivals: list[float] = []
    handed_over: list[float] = []
    arrived = threading.Event()

    class Timed(WebhookReceiver):
        def _answer(self, request):  # type: ignore[no-untyped-def]
            answer = super()._answer(request)
            arrivals.append(time.perf_counter())
            arrived.set()
            return answer

    dispatcher = start_local_dispatcher(sweep_every_seconds=3600)
    send = dispatcher.queue.send

    def timed_send(deliveries: Any, *, delay_seconds: int = 0) -> None:
        handed_over.append(time.perf_counter())
        send(deliveries, delay_seconds=delay_seconds)

    dispatcher.queue.send = timed_send  # type: ignore[method-assign]
    from_start: list[float] = []
    from_commit: list[float] = []
    try:
        with Timed() as receiver:
            lane, _ = _tenant_with_webhook(admin, receiver.url, "latency")
            for n in range(LATENCY_SAMPLES + 3):
                arrived.clear()
                started = time.perf_counter()
                _ingest_messages(handler, lane, 1, prefix=f"l{n}_")
                if not arrived.wait(timeout=30):
                    raise RuntimeError("a delivery never arrived")
                if n >= 3:
                    from_start.append(arrivals[-1] - started)
                    from_commit.append(arrivals[-1] - handed_over[-1])
    finally:
        dispatcher.stop()
        register_local_queue(None)
    return {"from_start": from_start, "from_commit": from_commit}


# ---------------------------------------------------------------------------------------------------------------


def _ms(seconds: float) -> float:
    return seconds * 1000


def main() -> None:
    with throwaway_database() as url, psycopg.connect(url, autocommit=True) as admin:
        handler = load_handler(load_template().functions["IngestFunction"])
        ingest = bench_ingest(admin, url, handler)
        dispatched = bench_dispatch(admin, handler)
        catch_up = bench_catch_up(admin, url, handler)
        latencies = bench_latency(admin, handler)

    print_header("Event log and webhook deliveries (make bench-events)")
    rates = {name: MESSAGES_PER_REQUEST * len(s) / sum(s) for name, s in ingest["seconds"].items()}
    print(f"\n1. Ingest: {INGEST_TIMED} timed requests of {MESSAGES_PER_REQUEST} messages per way, interleaved")
    print_table(
        ["way", "median ms", "p95 ms", "messages/s"],
        [
            [label, _ms(median(ingest["seconds"][name])), _ms(percentile(ingest["seconds"][name], 95)), rates[name]]
            for name, label in (
                ("with_log", "handler, event log on"),
                ("without_log", "handler, log triggers disabled"),
                ("copy_with_log", "raw COPY as owner, event log on"),
                ("copy", "raw COPY as owner, log triggers disabled"),
            )
        ],
    )
    appended_rate = ingest["appended"] / sum(ingest["seconds"]["with_log"])
    raw_rate = RAW_EVENT_ROWS * len(ingest["raw"]) / sum(ingest["raw"])
    print(f"events appended by the ingest path: {ingest['appended']:,} ({appended_rate:,.0f} events/s)")
    print(f"baseline, bare multi-row INSERT into events: {raw_rate:,.0f} rows/s")
    # make bench-ingest's ratio: both ways through the same table and its triggers (the log included).
    both = ratio(rates["with_log"], rates["copy_with_log"])
    print_ratio("handler / COPY, both with the log (make bench-ingest's ratio)", both, target=">= 0.5", met=both >= 0.5)
    print(f"handler with log / COPY without: {ratio(rates['with_log'], rates['copy']):.2f}")
    print(f"handler with log / without (messages/s): {ratio(rates['with_log'], rates['without_log']):.2f}")

    count = dispatched["count"]
    print(f"\n2. Dispatcher: {count} deliveries in batches of {DISPATCH_BATCH} to a local receiver")
    print_table(
        ["way", "seconds", "per second"],
        [
            [
                "dispatch (claim, sign, resolve, pinned POST, record)",
                dispatched["dispatch"],
                count / dispatched["dispatch"],
            ],
            ["baseline: bare HTTP POST, same threads", dispatched["bare"], count / dispatched["bare"]],
        ],
    )

    print(f"\n3. Catch-up: {catch_up['read']:,} events in pages of {CATCH_UP_PAGE}, {CATCH_UP_RUNS} runs")
    print_table(
        ["way", "full p50 ms", "full p99 ms", "page p50 ms", "page p99 ms"],
        [
            [
                "GET /v1/events (EventsFunction handler)",
                _ms(median(catch_up["handler_runs"])),
                _ms(percentile(catch_up["handler_runs"], 99)),
                _ms(median(catch_up["handler_pages"])),
                _ms(percentile(catch_up["handler_pages"], 99)),
            ],
            [
                "baseline: plain SELECT of the same pages",
                _ms(median(catch_up["select_runs"])),
                _ms(percentile(catch_up["select_runs"], 99)),
                _ms(median(catch_up["select_pages"])),
                _ms(percentile(catch_up["select_pages"], 99)),
            ],
        ],
    )

    samples = len(latencies["from_commit"])
    print(f"\n4. Commit to delivery ({samples} one-message ingests, make dev's local dispatcher)")
    print_table(
        ["way", "p50 ms", "p99 ms"],
        [
            [
                "after commit (hand-over) -> receiver got it",
                _ms(median(latencies["from_commit"])),
                _ms(percentile(latencies["from_commit"], 99)),
            ],
            [
                "ingest request start -> receiver got it",
                _ms(median(latencies["from_start"])),
                _ms(percentile(latencies["from_start"], 99)),
            ],
            [
                "baseline: a bare POST's round trip",
                _ms(median(dispatched["round_trips"])),
                _ms(percentile(dispatched["round_trips"], 99)),
            ],
        ],
    )


if __name__ == "__main__":
    main()
