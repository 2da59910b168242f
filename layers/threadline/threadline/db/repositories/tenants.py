"""Tenants and their agents (administration: run by the schema owner through the CLI or migrations)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row


@dataclass(frozen=True)
class TenantRecord:
    id: UUID
    name: str


@dataclass(frozen=True)
class UserRecord:
    id: UUID
    tenant_id: UUID
    name: str
    email: str | None


def insert_tenant(conn: psycopg.Connection[Any], name: str) -> TenantRecord:
    with conn.cursor(row_factory=class_row(TenantRecord)) as cursor:
        row = cursor.execute("INSERT INTO tenants (name) VALUES (%s) RETURNING id, name", (name,)).fetchone()
    assert row is not None
    return row


def insert_user(conn: psycopg.Connection[Any], *, tenant_id: UUID, name: str, email: str | None) -> UserRecord:
    with conn.cursor(row_factory=class_row(UserRecord)) as cursor:
        row = cursor.execute(
            "INSERT INTO users (tenant_id, name, email) VALUES (%s, %s, %s) RETURNING id, tenant_id, name, email",
            (tenant_id, name, email),
        ).fetchone()
    assert row is not None
    return row


def find_tenant_by_name(conn: psycopg.Connection[Any], name: str) -> TenantRecord | None:
    with conn.cursor(row_factory=class_row(TenantRecord)) as cursor:
        return cursor.execute(
            "SELECT id, name FROM tenants WHERE name = %s ORDER BY created_at LIMIT 1", (name,)
        ).fetchone()


def find_user_by_email(conn: psycopg.Connection[Any], tenant_id: UUID, email: str) -> UserRecord | None:
    with conn.cursor(row_factory=class_row(UserRecord)) as cursor:
        return cursor.execute(
            "SELECT id, tenant_id, name, email FROM users WHERE tenant_id = %s AND email = %s", (tenant_id, email)
        ).fetchone()
