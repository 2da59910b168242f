"""The scheduled window expiry against a real PostgreSQL, through the domain function and the real handler.

The job works across every tenant of the (shared) test database, so each test starts from a caught-up job: every
window that had closed before it began is already noticed, and the counts a test sees are its own contacts'. A window
is noticed when the job's progress mark has passed its closing time (migrations 0003 and 0008); the mark trails the clock by a
settling minute, so the windows these tests close closed at least two minutes ago.
Windows are opened the way production opens them (an inbound message through ingest, or an insert that the
window trigger handles); "time passing" is the owner moving `window_expires_at` into the past, which the trigger
ignores since `last_interaction_at` does not move forward.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import psycopg
import pytest
import yaml

from devtools.lambda_runtime import LocalLambdaContext, load_handler
from devtools.paths import TEMPLATE_PATH
from devtools.template import _CloudFormationLoader, load_template
from tests.conftest import load_event
from tests.integration.ingest_helpers import batch, call_ingest, conversation, message


def expire(**kwargs: Any):
    from threadline.domain.window_expiry import expire_closed_windows

    return expire_closed_windows(**kwargs)


@pytest.fixture(autouse=True)
def job_caught_up(database_url):
    """Given a job that has already marked every window closed before the test began."""
    from threadline.observability import metrics

    expire()
    # Outside a handler nothing flushes the metrics the domain adds: drop them, so that only what a handler
    # invocation adds is in its metrics line.
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def db_now(admin: psycopg.Connection[Any]) -> datetime:
    return admin.execute("SELECT now()").fetchone()[0]


def ingest_inbound(admin, connector, phone: str, sent_at: datetime, *, chats: int = 1) -> uuid.UUID:
    """A contact created by ingest with `chats` conversations and an inbound message at `sent_at`; its id."""
    body = batch(
        connector,
        *(
            conversation(f"chat_{phone}_{n}", phone, message(f"in_{phone}_{n}_{iso(sent_at)}", iso(sent_at)))
            for n in range(chats)
        ),
    )
    status, answer = call_ingest(body, api_key=connector.api_secret)
    assert status == 200, answer
    return contact_of(admin, connector, phone)


def contact_of(admin, connector, phone: str) -> uuid.UUID:
    return admin.execute(
        "SELECT id FROM contacts WHERE tenant_id = %s AND identifier = %s", (connector.tenant_id, phone)
    ).fetchone()[0]


def let_window_close(admin: psycopg.Connection[Any], contact_id: uuid.UUID, ago: timedelta) -> None:
    """Time passes: the contact's still-open window closed `ago` ago."""
    admin.execute(
        "UPDATE contacts SET window_expires_at = now() - %(ago)s,"
        " last_interaction_at = now() - %(ago)s - interval '24 hours' WHERE id = %(id)s",
        {"ago": ago, "id": contact_id},
    )


def let_window_close_since_last_run(admin: psycopg.Connection[Any], contact_id: uuid.UUID) -> None:
    """Time passes: the contact's window closed after the job's last run, and more than the settling minute ago.
    (The mark trails the clock by that minute, so such a closing time lies between the mark and now - 1 minute.)"""
    admin.execute(
        "UPDATE contacts c SET window_expires_at = p.expired_through + (now() - interval '1 minute' - p.expired_through) / 2"
        " FROM window_expiry_progress p WHERE c.id = %s",
        (contact_id,),
    )


def window(admin: psycopg.Connection[Any], contact_id: uuid.UUID) -> tuple[str | None, datetime | None]:
    """The window as every reader sees it: open while it has not closed; expired once the job noticed it closed."""
    return admin.execute(
        "SELECT CASE WHEN c.window_expires_at IS NULL THEN NULL WHEN c.window_expires_at > now() THEN 'open'"
        " WHEN c.window_expires_at <= p.expired_through THEN 'expired' ELSE 'closed, not yet noticed' END,"
        " c.window_expires_at FROM contacts c, window_expiry_progress p WHERE c.id = %s",
        (contact_id,),
    ).fetchone()


def closed_windows(admin: psycopg.Connection[Any], tenant_id: uuid.UUID, count: int, *, chats_every: int = 2):
    """`count` contacts of the tenant whose windows (opened by the trigger) closed one after the other since the
    job's last run, every `chats_every`-th with a conversation; returns their ids and the number of conversations."""
    ids = [
        row[0]
        for row in admin.execute(
            "INSERT INTO contacts (tenant_id, identifier, last_interaction_at)"
            " SELECT %s, 'bulk_' || %s || '_' || g, now() - interval '23 hours' FROM generate_series(1, %s) g"
            " RETURNING id",
            (tenant_id, uuid.uuid4().hex[:8], count),
        )
    ]
    # Spread between the job's progress mark and the settling minute before now, in order: batches then split them
    # by closing time.
    admin.execute(
        "UPDATE contacts c SET window_expires_at = p.expired_through"
        " + (now() - interval '1 minute' - p.expired_through) * (n / (%s + 1.0))"
        " FROM window_expiry_progress p, unnest(%s::uuid[]) WITH ORDINALITY AS u (id, n) WHERE c.id = u.id",
        (count, ids),
    )
    with_chats = ids[::chats_every]
    admin.execute(
        "INSERT INTO conversations (tenant_id, platform, external_conversation_id, contact_id)"
        " SELECT %s, 'whatsapp', 'bulk_chat_' || c, c FROM unnest(%s::uuid[]) c",
        (tenant_id, with_chats),
    )
    return ids, len(with_chats)


def watch_conversations(admin: psycopg.Connection[Any], tenant_id: uuid.UUID, contact_ids: list[uuid.UUID]) -> set:
    """An agent's WebSocket subscribes to every conversation of these contacts; returns the contacts that have one
    (the real-time feed can only tell windows to somebody watching)."""
    connection_id = f"ws-{uuid.uuid4().hex[:12]}"
    admin.execute(
        "INSERT INTO websocket_connections (connection_id, tenant_id, user_id) VALUES (%s, %s, 'agent')",
        (connection_id, tenant_id),
    )
    watched = admin.execute(
        "INSERT INTO websocket_subscriptions (tenant_id, connection_id, topic, topic_id)"
        " SELECT %s, %s, 'conversation', v.id::text FROM conversations v WHERE v.contact_id = ANY(%s)"
        " RETURNING topic_id",
        (tenant_id, connection_id, contact_ids),
    ).fetchall()
    assert watched
    rows = admin.execute(
        "SELECT DISTINCT contact_id FROM conversations WHERE contact_id = ANY(%s)", (contact_ids,)
    ).fetchall()
    return {row[0] for row in rows}


class TestWhichWindowsAreMarked:
    def test_only_windows_that_have_closed_are_marked_expired(self, connector, admin):
        now = db_now(admin)
        just_closed = ingest_inbound(admin, connector, "+15550000001", now - timedelta(hours=23), chats=2)
        let_window_close_since_last_run(admin, just_closed)
        closing_in_a_minute = ingest_inbound(admin, connector, "+15550000002", now - timedelta(hours=23, minutes=59))
        long_closed = ingest_inbound(admin, connector, "+15550000003", now - timedelta(days=2))
        never_wrote_body = batch(
            connector,
            conversation("chat_out", "+15550000004", message("out_1", iso(now), direction="outbound")),
        )
        assert call_ingest(never_wrote_body, api_key=connector.api_secret)[0] == 200
        never_wrote = contact_of(admin, connector, "+15550000004")
        before = {contact: window(admin, contact) for contact in (just_closed, closing_in_a_minute, long_closed)}

        outcome = expire()

        assert (outcome.contacts_expired, outcome.conversations_affected) == (1, 2)
        assert outcome.caught_up
        # No contact row is written: the closing time stays what it was, the job's mark moved past it.
        assert window(admin, just_closed) == ("expired", before[just_closed][1])
        assert window(admin, closing_in_a_minute) == before[closing_in_a_minute]
        assert before[closing_in_a_minute][0] == "open"
        assert window(admin, long_closed) == ("expired", before[long_closed][1])
        assert window(admin, never_wrote) == (None, None)

    def test_a_second_run_changes_nothing(self, connector, admin):
        contact = ingest_inbound(admin, connector, "+15550000011", db_now(admin) - timedelta(hours=23))
        let_window_close_since_last_run(admin, contact)
        row_before = admin.execute("SELECT xmin::text, updated_at FROM contacts WHERE id = %s", (contact,)).fetchone()
        assert expire().contacts_expired == 1

        again = expire()

        assert (again.contacts_expired, again.conversations_affected) == (0, 0)
        assert window(admin, contact)[0] == "expired"
        # Noticing a window never rewrites its contact.
        assert admin.execute("SELECT xmin::text, updated_at FROM contacts WHERE id = %s", (contact,)).fetchone() == (
            row_before
        )

    def test_a_window_reopened_by_a_new_message_is_open_again_until_it_closes(self, connector, admin):
        contact = ingest_inbound(admin, connector, "+15550000021", db_now(admin) - timedelta(hours=23))
        let_window_close_since_last_run(admin, contact)
        expire()
        assert window(admin, contact)[0] == "expired"

        ingest_inbound(admin, connector, "+15550000021", db_now(admin))

        assert expire().contacts_expired == 0
        assert window(admin, contact)[0] == "open"
        # When the new window closes, it is noticed again: each window once.
        let_window_close_since_last_run(admin, contact)
        assert expire().contacts_expired == 1
        assert window(admin, contact)[0] == "expired"

    def test_a_window_closed_for_less_than_the_settling_minute_is_noticed_by_the_next_run(self, connector, admin):
        """A writer that opened a window just before it closed may not have committed yet: a run leaves windows closed
        for under a minute to the next run (every transaction that writes contacts ends within 30 s)."""
        contact = ingest_inbound(admin, connector, "+15550000031", db_now(admin) - timedelta(hours=23))
        let_window_close(admin, contact, timedelta(seconds=20))

        assert expire().contacts_expired == 0
        assert window(admin, contact)[0] == "closed, not yet noticed"

        let_window_close_since_last_run(admin, contact)  # the same window, as the next run finds it
        assert expire().contacts_expired == 1
        assert window(admin, contact)[0] == "expired"


class TestAcrossTenants:
    def test_every_tenant_is_covered_and_the_feed_gets_each_tenants_windows(self, make_connector, admin):
        tenants = [make_connector().tenant_id for _ in range(3)]
        arranged = {tenant: closed_windows(admin, tenant, 5 + index) for index, tenant in enumerate(tenants)}
        watched = {tenant: watch_conversations(admin, tenant, ids) for tenant, (ids, _) in arranged.items()}
        announced: dict[uuid.UUID, list[uuid.UUID]] = {}

        outcome = expire(
            on_windows_expired=lambda tenant, windows: announced.setdefault(tenant, []).extend(
                window.contact_id for window in windows
            )
        )

        assert outcome.contacts_expired == sum(len(ids) for ids, _ in arranged.values())
        assert outcome.conversations_affected == sum(chats for _, chats in arranged.values())
        # Each tenant hears of its own watched contacts' windows, nothing else.
        assert {tenant: sorted(ids) for tenant, ids in announced.items()} == {
            tenant: sorted(ids) for tenant, ids in watched.items()
        }
        assert {window(admin, contact)[0] for ids, _ in arranged.values() for contact in ids} == {"expired"}

    def test_the_feed_hears_each_windows_closing_time(self, connector, admin):
        ids, _ = closed_windows(admin, connector.tenant_id, 3, chats_every=1)
        watch_conversations(admin, connector.tenant_id, ids)
        expected = dict(
            admin.execute("SELECT id, window_expires_at FROM contacts WHERE id = ANY(%s)", (ids,)).fetchall()
        )
        heard: dict[uuid.UUID, datetime] = {}

        expire(
            on_windows_expired=lambda _tenant, windows: heard.update(
                {window.contact_id: window.window_expires_at for window in windows}
            )
        )

        assert heard == expected


class TestBatchesAndOverlappingRuns:
    def test_two_overlapping_runs_mark_each_window_exactly_once(self, make_connector, admin, database_url):
        tenants = [make_connector().tenant_id for _ in range(3)]
        arranged = [closed_windows(admin, tenant, 120) for tenant in tenants]
        all_ids = {contact for ids, _ in arranged for contact in ids}
        conversations = sum(chats for _, chats in arranged)
        watched = set().union(*(watch_conversations(admin, tenant, ids) for tenant, (ids, _) in zip(tenants, arranged)))
        outcomes: list[Any] = []
        announced: list[uuid.UUID] = []
        lock = threading.Lock()

        def run() -> None:
            from threadline.db.connection import discard_app_connection

            def listen(_tenant, windows) -> None:
                with lock:
                    announced.extend(window.contact_id for window in windows)

            try:
                outcome = expire(batch_size=25, on_windows_expired=listen)
                with lock:
                    outcomes.append(outcome)
            finally:
                discard_app_connection()

        # Both runs start while another transaction holds the job's progress mark, so both are waiting on it and
        # then race for every batch.
        with psycopg.connect(database_url) as holder:
            holder.execute("SELECT 1 FROM window_expiry_progress FOR UPDATE")
            threads = [threading.Thread(target=run) for _ in range(2)]
            for thread in threads:
                thread.start()
            waiting = 0
            for _ in range(200):
                waiting = admin.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
                ).fetchone()[0]
                if waiting == 2:
                    break
                threading.Event().wait(0.05)
            holder.rollback()
        for thread in threads:
            thread.join(timeout=60)

        assert waiting == 2
        assert len(outcomes) == 2
        assert sum(outcome.contacts_expired for outcome in outcomes) == len(all_ids)
        assert sum(outcome.conversations_affected for outcome in outcomes) == conversations
        assert Counter(announced) == Counter(dict.fromkeys(watched, 1))
        assert all(outcome.caught_up for outcome in outcomes)
        assert {window(admin, contact)[0] for contact in all_ids} == {"expired"}

    def test_a_run_short_of_time_stops_after_a_batch_and_the_next_run_continues(self, connector, admin):
        ids, _ = closed_windows(admin, connector.tenant_id, 30)

        first = expire(batch_size=10, remaining_time_ms=lambda: 1_000)
        second = expire(batch_size=10)

        assert (first.batches, first.contacts_expired, first.caught_up) == (1, 10, False)
        assert second.contacts_expired == 20 and second.caught_up
        assert {window(admin, contact)[0] for contact in ids} == {"expired"}

    def test_the_batch_size_must_be_positive(self):
        with pytest.raises(ValueError, match="batch_size"):
            expire(batch_size=0)


class TestTheScheduledFunction:
    def test_the_handler_marks_the_closed_windows_and_emits_the_counts_as_metrics(self, connector, admin, capsys):
        _ids, chats = closed_windows(admin, connector.tenant_id, 4)
        handler = load_handler(load_template().functions["ExpireWindowsFunction"])
        capsys.readouterr()

        result = handler(
            load_event("scheduled-window-expiry.json"), LocalLambdaContext(function_name="ExpireWindowsFunction")
        )

        assert result["contacts_expired"] == 4 and result["conversations_affected"] == chats == 2
        assert result["caught_up"] is True
        emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
        [metrics] = [blob for blob in emitted if "WindowsExpired" in blob]
        assert metrics["WindowsExpired"] == [4]
        assert metrics["ConversationWindowsExpired"] == [2]
        assert metrics["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Threadline"

    def test_the_schedule_is_a_template_parameter(self):
        document = yaml.load(TEMPLATE_PATH.read_text("utf-8"), Loader=_CloudFormationLoader)
        function = document["Resources"]["ExpireWindowsFunction"]["Properties"]
        [schedule] = function["Events"].values()
        assert schedule["Type"] == "Schedule"
        assert schedule["Properties"]["Schedule"] == {"Fn::Sub": "rate(${WindowExpiryScheduleMinutes} minutes)"}
        assert document["Parameters"]["WindowExpiryScheduleMinutes"]["Default"] == 5
        assert not any(event["Type"] == "HttpApi" for event in function["Events"].values())
