"""Serialising the creation of contacts per phone number.

A contact is matched by its exact phone digits or by their last ten, so "+1 555 123 4567", "15551234567" and
"(555) 123-4567" are one person. Each writer that may create contacts (ingest, Meta's webhook) matches and creates
in one statement, but two such statements running at once each see a snapshot without the other's new contact,
and both created one: three spellings arriving together made three contacts. A unique index cannot express "same
last ten digits unless the exact digits match another", so the writers take a transaction-scoped advisory lock per
(tenant, last ten digits) first; the statement that follows (READ COMMITTED: a fresh snapshot) then sees the
contact the previous holder committed and matches it.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg

# Sorted, so that two batches sharing numbers take their locks in the same order and never deadlock. A 64-bit
# hash collision only makes two unrelated numbers wait for each other.
_LOCK_NUMBERS = """
SELECT count(pg_advisory_xact_lock(key))
FROM (
    SELECT DISTINCT hashtextextended('contact-number:' || %(tenant_id)s::text || ':' || right(digits, 10), 0) AS key
    FROM unnest(%(phone_digits)s::text[]) AS d (digits)
    WHERE digits IS NOT NULL
    ORDER BY key
) numbers
"""


def lock_contact_numbers(conn: psycopg.Connection[Any], tenant_id: UUID, phone_digits: list[str | None]) -> None:
    """Hold, until the transaction ends, the right to create a contact for each of these numbers. Call it in a
    pipeline with the statement that follows (psycopg's `conn.pipeline()`): both then travel in one round trip, and
    the server still runs them in order, the second with a snapshot taken after the locks were granted."""
    if any(phone_digits):
        conn.execute(_LOCK_NUMBERS, {"tenant_id": tenant_id, "phone_digits": phone_digits})
