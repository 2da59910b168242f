"""Reading timestamps that Python cannot hold.

PostgreSQL's timestamptz spans 4713 BC to 294276 AD; Python's datetime only years 1 to 9999. Ingest now refuses
such times, but rows written before (or by another writer: a connector's year-9999 time plus the 24-hour window)
would still make psycopg raise on every read that touches them, and one such row made a tenant's whole inbox a 500.
These loaders read an out-of-range value as the nearest representable instant instead, so the row still sorts
first (or last) where the database sorts it and the answer carries a valid timestamp.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.types.datetime import TimestamptzBinaryLoader, TimestamptzLoader

LATEST_READABLE = datetime.max.replace(tzinfo=UTC)
EARLIEST_READABLE = datetime.min.replace(tzinfo=UTC)


class ClampingTimestamptzLoader(TimestamptzLoader):
    def load(self, data: Any) -> datetime:
        try:
            return super().load(data)
        except psycopg.DataError:
            # PostgreSQL writes years before 1 as "... BC"; anything else out of range lies after 9999.
            return EARLIEST_READABLE if bytes(data).rstrip().endswith(b"BC") else LATEST_READABLE


class ClampingTimestamptzBinaryLoader(TimestamptzBinaryLoader):
    def load(self, data: Any) -> datetime:
        try:
            return super().load(data)
        except psycopg.DataError:
            # Microseconds since 2000-01-01: negative is before year 1, positive after 9999.
            return EARLIEST_READABLE if int.from_bytes(bytes(data), "big", signed=True) < 0 else LATEST_READABLE


def read_any_timestamp(conn: psycopg.Connection[Any]) -> None:
    """Install the clamping loaders on `conn` (text and binary results)."""
    conn.adapters.register_loader("timestamptz", ClampingTimestamptzLoader)
    conn.adapters.register_loader("timestamptz", ClampingTimestamptzBinaryLoader)
