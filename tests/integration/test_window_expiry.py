"""The scheduled window expiry against a real PostgreSQL, through the domain function and the real handler.

The job works across every tenant of the (shared) test database, so each test starts from a caught-up job: every
window that had closed before it began is already noticed, and the counts a test sees are its own conversations'. A
window is a conversation's (migration 0018), and is noticed when the job's progress mark has passed its closing time
(migrations 0003, 0008, 0018); the mark trails the clock by a settling minute, so the windows these tests close closed
at least two minutes ago. Windows are opened the way production opens them (an inbound message through ingest, or an
insert that the window trigger handles); "time passing" is the owner moving the conversation's `window_expires_at`
into the past, which the trigger ignores since `last_inbound_at` does not move forward.
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

from devtools.cfn import _CloudFormationLoader
from devtools.lambda_runtime import LocalLambdaContext, load_handler
from devtools.paths import TEMPLATE_PATH
from devtools.template import load_template
from tests.support.ingest import batch, call_ingest, conversation, message
from tests.support.paths import load_event


def expire(**kwargs: Any):
    from threadline.domain.replies.expiry import expire_closed_windows

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


def ingest_inbound(admin, connector, phone: str, sent_at: datetime, *, chats: int = 1) -> list[int]:
    """`chats` conversations of one contact, created by ingest with an inbound message at `sent_at`; their ids."""
    body = batch(
        connector,
        *(
            conversation(f"chat_{phone}_{n}", phone, message(f"in_{phone}_{n}_{iso(sent_at)}", iso(sent_at)))
            for n in range(chats)
        ),
    )
    status, answer = call_ingest(body, api_key=connector.api_secret)
    assert status == 200, answer
    return [result["conversation_id"] for result in answer["results"]]


def let_window_close(admin: psycopg.Connection[Any], conversation_id: int, ago: timedelta) -> None:
    """Time passes: the conversation's still-open window closed `ago` ago."""
    admin.execute(
        "UPDATE conversations SET window_expires_at = now() - %(ago)s,"
        " last_inbound_at = now() - %(ago)s - interval '24 hours' WHERE id = %(id)s",
        {"ago": ago, "id": conversation_id},
    )


def let_window_close_since_last_run(admin: psycopg.Connection[Any], *conversation_ids: int) -> None:
    """Time passes: the conversations' windows closed after the job's last run, and more than the settling minute
    ago. (The mark trails the clock by that minute, so such a closing time lies between the mark and now - 1 minute.)"""
    admin.execute(
        "UPDATE conversations c"
        " SET window_expires_at = p.expired_through + (now() - interval '1 minute' - p.expired_through) / 2"
        " FROM window_expiry_progress p WHERE c.id = ANY(%s)",
        (list(conversation_ids),),
    )


def window(admin: psycopg.Connection[Any], conversation_id: int) -> tuple[str | None, datetime | None]:
    """The window as every reader sees it: open while it has not closed; expired once the job noticed it closed."""
    return admin.execute(
        "SELECT CASE WHEN c.window_expires_at IS NULL THEN NULL WHEN c.window_expires_at > now() THEN 'open'"
        " WHEN c.window_expires_at <= p.expired_through THEN 'expired' ELSE 'closed, not yet noticed' END,"
        " c.window_expires_at FROM conversations c, window_expiry_progress p WHERE c.id = %s",
        (conversation_id,),
    ).fetchone()


def closed_windows(admin: psycopg.Connection[Any], tenant_id: uuid.UUID, count: int) -> list[int]:
    """`count` WhatsApp conversations of the tenant (one contact, no connection: the platform's 24 hours) whose
    windows, opened by the trigger, closed one after the other since the job's last run; their ids."""
    contact_id = admin.execute(
        "INSERT INTO contacts (tenant_id, identifier) VALUES (%s, %s) RETURNING id",
        (tenant_id, f"bulk_{uuid.uuid4().hex[:8]}"),
    ).fetchone()[0]
    ids = [
        row[0]
        for row in admin.execute(
            "INSERT INTO conversations (tenant_id, platform, external_conversation_id, contact_id, last_inbound_at)"
            " SELECT %s, 'whatsapp', 'bulk_chat_' || %s || '_' || g, %s, now() - interval '23 hours'"
            " FROM generate_series(1, %s) g RETURNING id",
            (tenant_id, uuid.uuid4().hex[:8], contact_id, count),
        )
    ]
    # Spread between the job's progress mark and the settling minute before now, in order: batches then split them
    # by closing time.
    admin.execute(
        "UPDATE conversations c SET window_expires_at = p.expired_through"
        " + (now() - interval '1 minute' - p.expired_through) * (n / (%s + 1.0))"
        " FROM window_expiry_progress p, unnest(%s::bigint[]) WITH ORDINALITY AS u (id, n) WHERE c.id = u.id",
        (count, ids),
    )
    return ids


def watch_conversations(
    admin: psycopg.Connection[Any], tenant_id: uuid.UUID, conversation_ids: list[int], *, every: int = 2
) -> set[int]:
    """An agent's WebSocket subscribes to every `every`-th of these conversations; returns those (the real-time
    feed can only tell windows to somebody watching)."""
    connection_id = f"ws-{uuid.uuid4().hex[:12]}"
    admin.execute(
        "INSERT INTO websocket_connections (connection_id, tenant_id, user_id) VALUES (%s, %s, 'agent')",
        (connection_id, tenant_id),
    )
    watched = conversation_ids[::every]
    admin.execute(
        "INSERT INTO websocket_subscriptions (tenant_id, connection_id, topic, topic_id)"
        " SELECT %s, %s, 'conversation', v::text FROM unnest(%s::bigint[]) v",
        (tenant_id, connection_id, watched),
    )
    return set(watched)


class TestWhichWindowsAreMarked:
    def test_only_windows_that_have_closed_are_marked_expired(self, connector, admin):
        now = db_now(admin)
        just_closed = ingest_inbound(admin, connector, "+15550000001", now - timedelta(hours=23), chats=2)
        let_window_close_since_last_run(admin, *just_closed)
        [closing_in_a_minute] = ingest_inbound(admin, connector, "+15550000002", now - timedelta(hours=23, minutes=59))
        [long_closed] = ingest_inbound(admin, connector, "+15550000003", now - timedelta(days=2))
        never_wrote_body = batch(
            connector,
            conversation("chat_out", "+15550000004", message("out_1", iso(now), direction="outbound")),
        )
        status, answer = call_ingest(never_wrote_body, api_key=connector.api_secret)
        assert status == 200
        never_wrote = answer["results"][0]["conversation_id"]
        before = {chat: window(admin, chat) for chat in (*just_closed, closing_in_a_minute, long_closed)}

        outcome = expire()

        assert outcome.windows_expired == 2  # the two conversations' windows, each its own
        assert outcome.caught_up
        # No conversation row is written: the closing time stays what it was, the job's mark moved past it.
        for chat in just_closed:
            assert window(admin, chat) == ("expired", before[chat][1])
        assert window(admin, closing_in_a_minute) == before[closing_in_a_minute]
        assert before[closing_in_a_minute][0] == "open"
        assert window(admin, long_closed) == ("expired", before[long_closed][1])
        assert window(admin, never_wrote) == (None, None)

    def test_a_second_run_changes_nothing(self, connector, admin):
        [chat] = ingest_inbound(admin, connector, "+15550000011", db_now(admin) - timedelta(hours=23))
        let_window_close_since_last_run(admin, chat)
        row_before = admin.execute("SELECT xmin::text, updated_at FROM conversations WHERE id = %s", (chat,)).fetchone()
        assert expire().windows_expired == 1

        again = expire()

        assert again.windows_expired == 0
        assert window(admin, chat)[0] == "expired"
        # Noticing a window never rewrites its conversation.
        assert admin.execute("SELECT xmin::text, updated_at FROM conversations WHERE id = %s", (chat,)).fetchone() == (
            row_before
        )

    def test_a_window_reopened_by_a_new_message_is_open_again_until_it_closes(self, connector, admin):
        [chat] = ingest_inbound(admin, connector, "+15550000021", db_now(admin) - timedelta(hours=23))
        let_window_close_since_last_run(admin, chat)
        expire()
        assert window(admin, chat)[0] == "expired"

        ingest_inbound(admin, connector, "+15550000021", db_now(admin))

        assert expire().windows_expired == 0
        assert window(admin, chat)[0] == "open"
        # When the new window closes, it is noticed again: each window once.
        let_window_close_since_last_run(admin, chat)
        assert expire().windows_expired == 1
        assert window(admin, chat)[0] == "expired"

    def test_a_window_closed_for_less_than_the_settling_minute_is_noticed_by_the_next_run(self, connector, admin):
        """A writer that opened a window just before it closed may not have committed yet: a run leaves windows closed
        for under a minute to the next run (every transaction that writes conversations ends within 30 s)."""
        [chat] = ingest_inbound(admin, connector, "+15550000031", db_now(admin) - timedelta(hours=23))
        let_window_close(admin, chat, timedelta(seconds=20))

        assert expire().windows_expired == 0
        assert window(admin, chat)[0] == "closed, not yet noticed"

        let_window_close_since_last_run(admin, chat)  # the same window, as the next run finds it
        assert expire().windows_expired == 1
        assert window(admin, chat)[0] == "expired"

    def test_channels_without_a_window_give_the_job_nothing_to_notice(self, make_connector, admin):
        long_ago = db_now(admin) - timedelta(days=2)
        for platform in ("signal", "telegram"):
            [chat] = ingest_inbound(admin, make_connector(platform=platform), "+15550000041", long_ago)
            assert window(admin, chat) == (None, None)

        assert expire().windows_expired == 0


class TestAcrossTenants:
    def test_every_tenant_is_covered_and_the_feed_gets_each_tenants_windows(self, make_connector, admin):
        tenants = [make_connector().tenant_id for _ in range(3)]
        arranged = {tenant: closed_windows(admin, tenant, 5 + index) for index, tenant in enumerate(tenants)}
        watched = {tenant: watch_conversations(admin, tenant, ids) for tenant, ids in arranged.items()}
        announced: dict[uuid.UUID, list[int]] = {}

        outcome = expire(
            on_windows_expired=lambda tenant, windows: announced.setdefault(tenant, []).extend(
                window.conversation_id for window in windows
            )
        )

        assert outcome.windows_expired == sum(len(ids) for ids in arranged.values())
        # Each tenant hears of its own watched conversations' windows, nothing else.
        assert {tenant: sorted(ids) for tenant, ids in announced.items()} == {
            tenant: sorted(ids) for tenant, ids in watched.items()
        }
        assert {window(admin, chat)[0] for ids in arranged.values() for chat in ids} == {"expired"}

    def test_the_feed_hears_each_windows_closing_time(self, connector, admin):
        ids = closed_windows(admin, connector.tenant_id, 3)
        watch_conversations(admin, connector.tenant_id, ids, every=1)
        expected = dict(
            admin.execute("SELECT id, window_expires_at FROM conversations WHERE id = ANY(%s)", (ids,)).fetchall()
        )
        heard: dict[int, datetime] = {}

        expire(
            on_windows_expired=lambda _tenant, windows: heard.update(
                {window.conversation_id: window.window_expires_at for window in windows}
            )
        )

        assert heard == expected


class TestBatchesAndOverlappingRuns:
    def test_two_overlapping_runs_mark_each_window_exactly_once(self, make_connector, admin, database_url):
        tenants = [make_connector().tenant_id for _ in range(3)]
        arranged = [closed_windows(admin, tenant, 120) for tenant in tenants]
        all_ids = {chat for ids in arranged for chat in ids}
        watched = set().union(*(watch_conversations(admin, tenant, ids) for tenant, ids in zip(tenants, arranged)))
        outcomes: list[Any] = []
        announced: list[int] = []
        lock = threading.Lock()

        def run() -> None:
            from threadline.db.connection import discard_app_connection

            def listen(_tenant, windows) -> None:
                with lock:
                    announced.extend(window.conversation_id for window in windows)

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
        assert sum(outcome.windows_expired for outcome in outcomes) == len(all_ids)
        assert Counter(announced) == Counter(dict.fromkeys(watched, 1))
        assert all(outcome.caught_up for outcome in outcomes)
        assert {window(admin, chat)[0] for chat in all_ids} == {"expired"}

    def test_a_run_short_of_time_stops_after_a_batch_and_the_next_run_continues(self, connector, admin):
        ids = closed_windows(admin, connector.tenant_id, 30)

        first = expire(batch_size=10, remaining_time_ms=lambda: 1_000)
        second = expire(batch_size=10)

        assert (first.batches, first.windows_expired, first.caught_up) == (1, 10, False)
        assert second.windows_expired == 20 and second.caught_up
        assert {window(admin, chat)[0] for chat in ids} == {"expired"}

    def test_the_batch_size_must_be_positive(self):
        with pytest.raises(ValueError, match="batch_size"):
            expire(batch_size=0)


class TestTheScheduledFunction:
    def test_the_handler_marks_the_closed_windows_and_emits_the_counts_as_metrics(self, connector, admin, capsys):
        closed_windows(admin, connector.tenant_id, 4)
        handler = load_handler(load_template().functions["ExpireWindowsFunction"])
        capsys.readouterr()

        result = handler(
            load_event("scheduled-window-expiry.json"), LocalLambdaContext(function_name="ExpireWindowsFunction")
        )

        assert result["windows_expired"] == 4
        assert result["caught_up"] is True
        emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
        [metrics] = [blob for blob in emitted if "WindowsExpired" in blob]
        assert metrics["WindowsExpired"] == [4]
        assert metrics["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Threadline"

    def test_the_schedule_is_a_template_parameter(self):
        document = yaml.load(TEMPLATE_PATH.read_text("utf-8"), Loader=_CloudFormationLoader)
        function = document["Resources"]["ExpireWindowsFunction"]["Properties"]
        [schedule] = function["Events"].values()
        assert schedule["Type"] == "Schedule"
        assert schedule["Properties"]["Schedule"] == {"Fn::Sub": "rate(${WindowExpiryScheduleMinutes} minutes)"}
        assert document["Parameters"]["WindowExpiryScheduleMinutes"]["Default"] == 5
        assert not any(event["Type"] == "HttpApi" for event in function["Events"].values())
