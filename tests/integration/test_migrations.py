"""Migrations record the SHA-256 of each file they apply, and refuse to run against a database whose applied
migration file has changed since, naming the file, before applying anything."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import psycopg
import pytest

from tests.support.paths import REPO_ROOT
from threadline.db.migrations import AppliedMigrationChanged, apply_migrations, available_migrations

MIGRATIONS = REPO_ROOT / "layers/threadline/threadline/db/migrations"


def _file_checksums(folder: Path) -> dict[str, str]:
    return {path.name[:4]: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(folder.glob("*.sql"))}


def _recorded_checksums(conn: psycopg.Connection) -> dict[str, str]:
    return dict(conn.execute("SELECT version, checksum FROM schema_migrations").fetchall())


@pytest.fixture
def migrations_copy(tmp_path: Path) -> Path:
    """The layer's migrations in a folder the test may edit."""
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, folder)
    return folder


def test_each_applied_migration_is_recorded_with_the_sha256_of_its_file(empty_database):
    # Given an empty database
    with psycopg.connect(empty_database) as conn:
        # When every migration is applied
        applied = apply_migrations(conn)

        # Then each is recorded with the SHA-256 of its file's bytes
        assert applied == sorted(_file_checksums(MIGRATIONS))
        assert _recorded_checksums(conn) == _file_checksums(MIGRATIONS)


def test_a_changed_applied_migration_refuses_the_run_naming_the_file_and_applies_nothing(
    empty_database, migrations_copy
):
    # Given a database migrated from the files, after which one applied file was edited and a new one added
    with psycopg.connect(empty_database) as conn:
        apply_migrations(conn, migrations=available_migrations(migrations_copy))
    edited = migrations_copy / "0002_whatsapp_send.sql"
    edited.write_text(edited.read_text() + "\nCREATE INDEX messages_status_idx ON messages (status);\n")
    (migrations_copy / "9999_later.sql").write_text("CREATE TABLE later_change (id int);\n")

    # When the migrations run again
    with psycopg.connect(empty_database) as conn:
        with pytest.raises(AppliedMigrationChanged) as refused:
            apply_migrations(conn, migrations=available_migrations(migrations_copy))

        # Then they refuse with a message naming the edited file, and neither the edit nor the new file was applied
        assert refused.value.filenames == ["0002_whatsapp_send.sql"]
        assert "0002_whatsapp_send.sql" in str(refused.value)
        assert conn.execute("SELECT to_regclass('later_change'), to_regclass('messages_status_idx')").fetchone() == (
            None,
            None,
        )
        assert "9999" not in _recorded_checksums(conn)


def test_every_changed_file_is_named(empty_database, migrations_copy):
    with psycopg.connect(empty_database) as conn:
        apply_migrations(conn, migrations=available_migrations(migrations_copy))
    for name in ("0001_foundation.sql", "0007_realtime.sql"):
        (migrations_copy / name).write_text((migrations_copy / name).read_text() + "-- an afterthought\n")

    with psycopg.connect(empty_database) as conn, pytest.raises(AppliedMigrationChanged) as refused:
        apply_migrations(conn, migrations=available_migrations(migrations_copy))

    assert refused.value.filenames == ["0001_foundation.sql", "0007_realtime.sql"]


def test_a_database_migrated_before_checksums_gets_them_backfilled_and_then_guarded(empty_database, migrations_copy):
    # Given a database migrated before schema_migrations had a checksum column
    with psycopg.connect(empty_database) as conn:
        apply_migrations(conn, migrations=available_migrations(migrations_copy))
        conn.execute("ALTER TABLE schema_migrations DROP COLUMN checksum")

        # When the migrations run against it
        applied = apply_migrations(conn, migrations=available_migrations(migrations_copy))

        # Then nothing is reapplied, and the files' checksums are recorded
        assert applied == []
        assert _recorded_checksums(conn) == _file_checksums(migrations_copy)

    # And from then on a changed file is refused
    edited = migrations_copy / "0005_read_api.sql"
    edited.write_text(edited.read_text().replace("tenant", "tenant ", 1))
    with psycopg.connect(empty_database) as conn, pytest.raises(AppliedMigrationChanged, match=r"0005_read_api\.sql"):
        apply_migrations(conn, migrations=available_migrations(migrations_copy))


def test_an_unchanged_database_runs_again_without_applying_anything(empty_database):
    with psycopg.connect(empty_database) as conn:
        apply_migrations(conn)
        assert apply_migrations(conn) == []
        assert _recorded_checksums(conn) == _file_checksums(MIGRATIONS)
