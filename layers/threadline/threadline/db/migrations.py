"""Versioned SQL migrations: `migrations/NNNN_name.sql`, applied in order, each in its own transaction,
recorded in `schema_migrations`. An advisory lock makes concurrent runs (two deploys, a deploy and
`make dev`) wait for each other instead of racing."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

import psycopg
from psycopg import sql

_LOCK_KEY = 7_321_004_771  # arbitrary, constant: identifies "threadline migrations" among advisory locks


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    sql: str


def available_migrations() -> list[Migration]:
    folder = resources.files("threadline.db") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            version, _, rest = entry.name.partition("_")
            found.append(Migration(version=version, name=rest.removesuffix(".sql"), sql=entry.read_text("utf-8")))
    return sorted(found, key=lambda migration: migration.version)


def apply_migrations(conn: psycopg.Connection[Any], *, app_role_password: str | None = None) -> list[str]:
    """Apply every pending migration; return the versions applied. `conn` must be the schema owner's."""
    conn.autocommit = True
    conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version text PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        applied = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
        newly_applied = []
        for migration in available_migrations():
            if migration.version in applied:
                continue
            with conn.transaction():
                conn.execute(migration.sql.encode())
                conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (migration.version, migration.name)
                )
            newly_applied.append(migration.version)
        if app_role_password is not None:
            conn.execute(
                sql.SQL("ALTER ROLE threadline_app WITH LOGIN PASSWORD {}").format(sql.Literal(app_role_password))
            )
        return newly_applied
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
