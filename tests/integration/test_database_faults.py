"""A fault mid-way loses nothing and doubles nothing: dropped connections are reopened and the unit of work
runs again; the dedupe key makes that re-run harmless."""

from __future__ import annotations

import itertools
import time

import psycopg

from tests.support.ingest import batch, call_ingest, conversation, message


def _terminate_app_backends(admin):
    admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE usename = 'threadline_app' AND datname = current_database() AND pid <> pg_backend_pid()"
    )


def test_a_connection_killed_between_invocations_is_replaced(connector, admin):
    call_ingest(
        batch(connector, conversation("chat", "+15550001111", message("m1", "2026-02-01T10:00:00Z"))),
        api_key=connector.api_secret,
    )
    _terminate_app_backends(admin)

    status, body = call_ingest(
        batch(connector, conversation("chat", "+15550001111", message("m2", "2026-02-01T10:01:00Z"))),
        api_key=connector.api_secret,
    )

    assert status == 200 and body["results"][0]["messages_added"] == 1


def test_a_database_that_stays_down_answers_500_in_the_seed_shape(connector, monkeypatch):
    from threadline.config import get_settings
    from threadline.db.connection import discard_app_connection

    discard_app_connection()
    monkeypatch.setenv("DATABASE_URL", "host=127.0.0.1 port=1 dbname=nowhere connect_timeout=1")
    get_settings.cache_clear()
    try:
        status, body = call_ingest(
            batch(connector, conversation("chat", "+1555", message("m1", "2026-02-01T10:00:00Z"))),
            api_key=connector.api_secret,
        )
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
        discard_app_connection()
    assert (status, body) == (500, {"error": "Internal server error"})


def test_a_retried_request_after_a_lost_response_doubles_nothing(connector, admin):
    body = batch(
        connector,
        conversation(
            "chat", "+15550001111", message("m1", "2026-02-01T10:00:00Z"), message("m2", "2026-02-01T10:01:00Z")
        ),
    )
    call_ingest(body, api_key=connector.api_secret)
    status, answer = call_ingest(body, api_key=connector.api_secret)
    assert status == 200 and answer["results"][0]["status"] == "no_new_messages"
    assert admin.execute("SELECT count(*) FROM messages WHERE tenant_id = %s", (connector.tenant_id,)).fetchone() == (
        2,
    )


def test_migrations_are_idempotent(database_url):
    from threadline.db.migrations import apply_migrations

    with psycopg.connect(database_url) as conn:
        assert apply_migrations(conn) == []


def test_transactions_retry_on_a_fresh_connection_after_the_connection_broke(connector, admin):
    from threadline.db.tenancy import run_in_transaction

    attempts = []

    def work(conn):
        attempts.append(conn.info.backend_pid)
        if len(attempts) == 1:
            admin.execute("SELECT pg_terminate_backend(%s)", (conn.info.backend_pid,))
        return conn.execute("SELECT count(*) FROM conversations").fetchone()[0]

    assert run_in_transaction(work, tenant_id=connector.tenant_id) == 0
    assert len(attempts) == 2 and attempts[0] != attempts[1]


def test_a_brief_outage_is_ridden_out_by_waiting_longer_between_attempts(connector, admin):
    """The database drops every connection for 300 ms (each attempt's backend is terminated while the outage lasts,
    as a restart or a failover's first moments do): the attempts wait 50, 100, 200 ms... between them, so one
    falls after it. Retried back to back, all of them fell inside it and the request was a 500."""
    from threadline.db.tenancy import _OUTAGE_BACKOFF_SECONDS, run_in_transaction

    outage_ends = time.monotonic() + 0.3
    attempts: list[float] = []

    def work(conn):
        attempts.append(time.monotonic())
        if attempts[-1] < outage_ends:
            admin.execute("SELECT pg_terminate_backend(%s)", (conn.info.backend_pid,))
        return conn.execute("SELECT count(*) FROM conversations").fetchone()[0]

    assert run_in_transaction(work, tenant_id=connector.tenant_id) == 0
    assert attempts[-1] >= outage_ends and attempts[-2] < outage_ends
    gaps = [later - earlier for earlier, later in itertools.pairwise(attempts)]
    assert all(gap >= wait for gap, wait in zip(gaps, _OUTAGE_BACKOFF_SECONDS, strict=False)), gaps


def test_the_waits_between_attempts_grow_and_stay_bounded():
    from threadline.db.tenancy import _ATTEMPTS, _OUTAGE_BACKOFF_SECONDS

    assert len(_OUTAGE_BACKOFF_SECONDS) == _ATTEMPTS - 1
    assert list(_OUTAGE_BACKOFF_SECONDS) == sorted(_OUTAGE_BACKOFF_SECONDS) and _OUTAGE_BACKOFF_SECONDS[0] >= 0.05
    assert sum(_OUTAGE_BACKOFF_SECONDS) <= 2.0  # a request still answers well inside API Gateway's 29 s
