"""A bulk UPDATE of conversations or messages takes time in proportion to its rows, whatever the session ran before.

The statement-level triggers that pair old and new rows (0015, 0020) join the UPDATE's two transition tables. Their
plan is prepared once per session: planned for a one-row UPDATE it was a nested loop, and reused for a bulk UPDATE
it made the time grow with the square of the rows (0022). This is the one timing test the issue asked for, and it
compares the session's own figures with each other, never a clock: four times the rows must take at most eight
times as long (proportional: four, and 4.1-4.3 measured; the nested loop took 15-17 at these sizes, and more the
larger they get). Each size's time is its best of three, so a pause caused by a busy machine counts only if it hits
every try.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

SMALL = 1_000
LARGE = 4_000
WARM_UP_STATEMENTS = 7
TRIES = 3
LIMIT = 8.0  # LARGE / SMALL is 4: twice what proportional time allows


def _best_seconds(update: Callable[[int], None], rows: int) -> float:
    best = float("inf")
    for _ in range(TRIES):
        started = time.perf_counter()
        update(rows)
        best = min(best, time.perf_counter() - started)
    return best


def _time_ratio(update: Callable[[int], None]) -> tuple[float, float]:
    """After a few one-row UPDATEs in this session (which leave their plans prepared), the best time of LARGE rows
    over the best time of SMALL rows."""
    for _ in range(WARM_UP_STATEMENTS):
        update(1)
    small = _best_seconds(update, SMALL)
    large = _best_seconds(update, LARGE)
    return large / small, large


@pytest.fixture
def session(database_url: str, make_connector: Callable[..., Any]) -> Any:
    """A new session (nothing prepared yet) as the owner, with a tenant of LARGE conversations of one contact
    each, and LARGE messages in the first."""
    connector = make_connector()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            """
            WITH connection AS (SELECT id FROM connections WHERE tenant_id = %(tenant)s),
            contact AS (
                INSERT INTO contacts (tenant_id, identifier, phone_digits, name)
                SELECT %(tenant)s, '+1555' || lpad(g::text, 7, '0'), '1555' || lpad(g::text, 7, '0'), 'Customer ' || g
                FROM generate_series(1, %(rows)s) g
                RETURNING id, identifier
            )
            INSERT INTO conversations (tenant_id, connection_id, platform, external_conversation_id, contact_id,
                                       status, priority)
            SELECT %(tenant)s, (SELECT id FROM connection), 'whatsapp', 'chat_' || k.identifier, k.id, 'open', 'low'
            FROM contact k
            """,
            {"tenant": connector.tenant_id, "rows": LARGE},
        )
        first = conn.execute(
            "SELECT min(id) FROM conversations WHERE tenant_id = %s", (connector.tenant_id,)
        ).fetchone()
        assert first is not None
        conn.execute(
            """
            INSERT INTO messages (tenant_id, conversation_id, external_id, direction, type, content, sent_at, status)
            SELECT %(tenant)s, %(conversation)s, 'm' || g, 'outbound', 'text', 'reply ' || g,
                   timestamptz '2026-01-01' + make_interval(secs => g), 'sent'
            FROM generate_series(1, %(rows)s) g
            """,
            {"tenant": connector.tenant_id, "conversation": first[0], "rows": LARGE},
        )
        conn.execute("ANALYZE conversations")
        conn.execute("ANALYZE messages")
        yield conn, connector.tenant_id


def test_doubling_a_bulk_update_of_conversations_twice_at_most_about_quadruples_its_time(session):
    conn, tenant = session

    def update(rows: int) -> None:
        # A change every trigger follows: a new priority is a conversation.updated event per row.
        conn.execute(
            """
            UPDATE conversations SET priority = CASE WHEN priority = 'low' THEN 'high' ELSE 'low' END
            WHERE id IN (SELECT id FROM conversations WHERE tenant_id = %s ORDER BY id LIMIT %s)
            """,
            (tenant, rows),
        )

    ratio, large = _time_ratio(update)

    assert ratio <= LIMIT, f"{LARGE:,} rows took {ratio:.1f}x the time of {SMALL:,} ({large:.2f} s)"


def test_doubling_a_bulk_update_of_messages_twice_at_most_about_quadruples_its_time(session):
    conn, tenant = session

    def update(rows: int) -> None:
        # A new status is a message.status_changed event per row.
        conn.execute(
            """
            UPDATE messages SET status = CASE WHEN status = 'sent' THEN 'delivered' ELSE 'sent' END
            WHERE id IN (SELECT id FROM messages WHERE tenant_id = %s ORDER BY id LIMIT %s)
            """,
            (tenant, rows),
        )

    ratio, large = _time_ratio(update)

    assert ratio <= LIMIT, f"{LARGE:,} rows took {ratio:.1f}x the time of {SMALL:,} ({large:.2f} s)"
