"""Reading the database's state in assertions (as the schema owner: tests arrange and inspect, never act, with it)."""

from __future__ import annotations

from typing import Any

import psycopg


def table_counts(admin: psycopg.Connection[Any]) -> dict[str, int]:
    return {
        table: admin.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
        for table in ("tenants", "contacts", "connections", "conversations", "messages")
    }
