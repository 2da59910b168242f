"""The vocabularies of threadline.vocabulary are the database's too: each CHECK constraint that lists the values of
a column holds exactly the values the code speaks, so a new platform or status is added in one place and a test
names the migration it also needs."""

from __future__ import annotations

import re
from typing import Any

import psycopg
import pytest

from threadline.vocabulary import (
    AVAILABILITIES,
    CONVERSATION_STATUSES,
    DELIVERY_STATUSES,
    DELIVERY_TARGET_KINDS,
    MESSAGE_STATUSES,
    PLATFORMS,
    PRIORITIES,
    READ_RECEIPTS,
    TOPICS,
    WORKSPACE_PLATFORM,
)


def _checked_values(admin: psycopg.Connection[Any], table: str, column: str) -> set[str]:
    """The values the CHECK constraint listing `table.column`'s values allows (PostgreSQL keeps `column IN ('a',
    'b')` as `column = ANY (ARRAY['a'::text, ...])`)."""
    definitions = [
        row[0]
        for row in admin.execute(
            """
            SELECT pg_get_constraintdef(c.oid)
              FROM pg_constraint c
             WHERE c.conrelid = %s::regclass AND c.contype = 'c'
               AND pg_get_constraintdef(c.oid) LIKE %s
            """,
            (table, f"%({column} = ANY (ARRAY[%"),
        ).fetchall()
    ]
    assert len(definitions) == 1, f"expected one CHECK on {table}.{column}, found {definitions}"
    return set(re.findall(r"'([^']+)'::text", definitions[0]))


@pytest.mark.parametrize(
    ("table", "column", "values"),
    [
        ("connections", "platform", set(PLATFORMS)),
        ("conversations", "platform", {*PLATFORMS, WORKSPACE_PLATFORM}),
        ("messages", "status", set(MESSAGE_STATUSES)),
        ("conversations", "status", set(CONVERSATION_STATUSES)),
        ("users", "availability", set(AVAILABILITIES)),
        ("conversations", "priority", set(PRIORITIES)),
        ("tenants", "read_receipts", set(READ_RECEIPTS)),
        ("websocket_subscriptions", "topic", set(TOPICS)),
        ("deliveries", "status", set(DELIVERY_STATUSES)),
        ("deliveries", "target_kind", set(DELIVERY_TARGET_KINDS)),
    ],
)
def test_the_database_allows_exactly_the_code_s_vocabulary(admin, table, column, values):
    assert _checked_values(admin, table, column) == values
