"""Versioned SQL migrations: `migrations/NNNN_name.sql`, applied in order, each in its own transaction,
recorded in `schema_migrations` with the SHA-256 of the file as it was applied. An advisory lock makes concurrent
runs (two deploys, a deploy and `make dev`) wait for each other instead of racing.

An applied migration is never edited: a database built from the old text would silently differ from one built from
the new. So every run first compares each applied migration's recorded checksum with its file and refuses, naming
the files, when one has changed (write a new migration instead). Databases migrated before checksums were recorded
get them backfilled from the files on their first run: what they applied cannot be known any more, and the files
they are run with are the best witness there is."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

import psycopg
from psycopg import sql

_LOCK_KEY = 7_321_004_771  # arbitrary, constant: identifies "threadline migrations" among advisory locks


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    sql: str
    checksum: str  # hex SHA-256 of the file's bytes

    @property
    def filename(self) -> str:
        return f"{self.version}_{self.name}.sql"


class AppliedMigrationChanged(RuntimeError):
    """An applied migration's file no longer has the content it was applied with."""

    def __init__(self, filenames: Sequence[str]) -> None:
        self.filenames = list(filenames)
        files = "file" if len(filenames) == 1 else "files"
        super().__init__(
            f"migration {files} changed after being applied: {', '.join(filenames)} (SHA-256 differs from the one"
            " recorded in schema_migrations); restore the applied text and put the change in a new migration"
        )


def available_migrations(folder: Traversable | None = None) -> list[Migration]:
    """The migrations in `folder` (the layer's own by default), in version order."""
    folder = folder or resources.files("threadline.db") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            version, _, rest = entry.name.partition("_")
            content = entry.read_bytes()
            found.append(
                Migration(
                    version=version,
                    name=rest.removesuffix(".sql"),
                    sql=content.decode("utf-8"),
                    checksum=hashlib.sha256(content).hexdigest(),
                )
            )
    return sorted(found, key=lambda migration: migration.version)


def _ensure_migrations_table(conn: psycopg.Connection[Any]) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version text PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(),"
        " checksum text)"
    )
    # Tables created before checksums were recorded gain the column here (NULL until backfilled).
    conn.execute("ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS checksum text")


def _backfill_checksums(conn: psycopg.Connection[Any], migrations: Iterable[Migration]) -> None:
    with conn.transaction(), conn.cursor() as cursor:
        cursor.executemany(
            "UPDATE schema_migrations SET checksum = %s WHERE version = %s AND checksum IS NULL",
            [(migration.checksum, migration.version) for migration in migrations],
        )


def apply_migrations(
    conn: psycopg.Connection[Any],
    *,
    app_role_password: str | None = None,
    migrations: Sequence[Migration] | None = None,
) -> list[str]:
    """Apply every pending migration (the layer's unless `migrations` is given); return the versions applied.
    `conn` must be the schema owner's. Raises AppliedMigrationChanged, applying nothing, when an applied
    migration's file has changed."""
    migrations = available_migrations() if migrations is None else migrations
    conn.autocommit = True
    conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
    try:
        _ensure_migrations_table(conn)
        _backfill_checksums(conn, migrations)
        recorded = dict(conn.execute("SELECT version, checksum FROM schema_migrations").fetchall())
        changed = [
            migration.filename
            for migration in migrations
            if migration.version in recorded and recorded[migration.version] != migration.checksum
        ]
        if changed:
            raise AppliedMigrationChanged(changed)
        newly_applied = []
        for migration in migrations:
            if migration.version in recorded:
                continue
            with conn.transaction():
                conn.execute(migration.sql.encode())
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                    (migration.version, migration.name, migration.checksum),
                )
            newly_applied.append(migration.version)
        if app_role_password is not None:
            conn.execute(
                sql.SQL("ALTER ROLE threadline_app WITH LOGIN PASSWORD {}").format(sql.Literal(app_role_password))
            )
        return newly_applied
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
