"""The account's message templates in the database: a sync's set-based replace, the list, the rows a send is
checked against, the template webhooks' updates, and the WABA lookups (SECURITY DEFINER, migration 0051)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb


@dataclass(frozen=True)
class TemplateRecord:
    """A template as the provider describes it, to be stored."""

    provider_id: str | None
    name: str
    language: str
    status: str
    category: str | None
    quality: str | None
    parameter_format: str | None
    components: list[dict[str, Any]]


@dataclass(frozen=True)
class TemplateRow(TemplateRecord):
    """A stored template: the record, and what Threadline keeps beside it."""

    id: UUID
    waba_id: str
    last_event: str | None
    synced_at: datetime | None
    updated_at: datetime


_COLUMNS = (
    "id, waba_id, provider_id, name, language, status, category, quality, parameter_format, components,"
    " last_event, synced_at, updated_at"
)


@dataclass(frozen=True)
class ReplacedTemplates:
    templates: int
    removed: int


_REPLACE = """
WITH
input AS (
    SELECT DISTINCT ON (name, language) *
    FROM unnest(%(provider_ids)s::text[], %(names)s::text[], %(languages)s::text[], %(statuses)s::text[],
                %(categories)s::text[], %(qualities)s::text[], %(formats)s::text[], %(components)s::jsonb[])
         AS t (provider_id, name, language, status, category, quality, parameter_format, components)
    ORDER BY name, language
),
upserted AS (
    INSERT INTO message_templates AS m (tenant_id, waba_id, provider_id, name, language, status, category, quality,
                                        parameter_format, components, synced_at)
    SELECT %(tenant_id)s, %(waba_id)s, provider_id, name, language, status, category, quality, parameter_format,
           components, now()
    FROM input
    ON CONFLICT (tenant_id, waba_id, name, language) DO UPDATE
    SET provider_id = EXCLUDED.provider_id, status = EXCLUDED.status, category = EXCLUDED.category,
        quality = EXCLUDED.quality, parameter_format = EXCLUDED.parameter_format,
        components = EXCLUDED.components, synced_at = now(), updated_at = now()
    RETURNING m.id
),
removed AS (
    DELETE FROM message_templates m
    WHERE m.tenant_id = %(tenant_id)s AND m.waba_id = %(waba_id)s
      AND NOT EXISTS (SELECT 1 FROM input i WHERE i.name = m.name AND i.language = m.language)
    RETURNING m.id
)
SELECT (SELECT count(*) FROM upserted)::int AS templates, (SELECT count(*) FROM removed)::int AS removed
"""


def replace_account_templates(
    conn: psycopg.Connection[Any], *, tenant_id: UUID, waba_id: str, records: list[TemplateRecord]
) -> ReplacedTemplates:
    """The WABA's templates become `records`, in one statement: new and changed ones written, the ones no longer
    listed removed."""
    params = {
        "tenant_id": tenant_id,
        "waba_id": waba_id,
        "provider_ids": [r.provider_id for r in records],
        "names": [r.name for r in records],
        "languages": [r.language for r in records],
        "statuses": [r.status for r in records],
        "categories": [r.category for r in records],
        "qualities": [r.quality for r in records],
        "formats": [r.parameter_format for r in records],
        "components": [Jsonb(r.components) for r in records],
    }
    with conn.cursor(row_factory=class_row(ReplacedTemplates)) as cursor:
        row = cursor.execute(_REPLACE, params).fetchone()
    assert row is not None
    return row


@dataclass(frozen=True)
class TemplateFilters:
    status: str | None = None
    name: str | None = None
    language: str | None = None
    waba_ids: tuple[str, ...] | None = None  # None: every WABA of the tenant


@dataclass(frozen=True)
class TemplatePosition:
    """A template's place in the list's order: (name, language, waba_id)."""

    name: str
    language: str
    waba_id: str


def list_templates(
    conn: psycopg.Connection[Any], filters: TemplateFilters, *, after: TemplatePosition | None, limit: int
) -> list[TemplateRow]:
    """One page in (name, language, WABA) order, starting after `after`: the unique key's order, so a page seeks
    straight to its position."""
    with conn.cursor(row_factory=class_row(TemplateRow)) as cursor:
        return cursor.execute(
            f"SELECT {_COLUMNS} FROM message_templates"
            " WHERE tenant_id = app_current_tenant()"
            "   AND (%(status)s::text IS NULL OR status = upper(%(status)s))"
            "   AND (%(name)s::text IS NULL OR name = %(name)s)"
            "   AND (%(language)s::text IS NULL OR language = %(language)s)"
            "   AND (%(waba_ids)s::text[] IS NULL OR waba_id = ANY (%(waba_ids)s))"
            "   AND (%(after_name)s::text IS NULL"
            "        OR (name, language, waba_id) > (%(after_name)s, %(after_language)s, %(after_waba)s))"
            " ORDER BY name, language, waba_id LIMIT %(limit)s",
            {
                "status": filters.status,
                "name": filters.name,
                "language": filters.language,
                "waba_ids": list(filters.waba_ids) if filters.waba_ids is not None else None,
                "after_name": after.name if after else None,
                "after_language": after.language if after else None,
                "after_waba": after.waba_id if after else None,
                "limit": limit,
            },
        ).fetchall()


def find_connection_waba(conn: psycopg.Connection[Any], connection_id: str) -> tuple[bool, str | None]:
    """(the connection exists in the caller's tenant, its WABA id)."""
    row = conn.execute("SELECT waba_id FROM connections WHERE connection_id = %s", (connection_id,)).fetchone()
    return (row is not None, row[0] if row else None)


@dataclass(frozen=True)
class NumberTemplates:
    """What a template send from one number is checked against."""

    waba_id: str | None  # the account its connection records; None: none recorded, nothing to check against
    account_has_templates: bool  # False until a sync stored any template of the account
    rows: list[TemplateRow]  # the account's templates of the name asked for, every language


def find_number_templates(conn: psycopg.Connection[Any], phone_number_id: str, name: str) -> NumberTemplates:
    """The WABA recorded by the tenant's connection sending from `phone_number_id`, and that WABA's templates
    called `name`, in every language."""
    row = conn.execute(
        "SELECT waba_id, EXISTS (SELECT 1 FROM message_templates t"
        "                        WHERE t.tenant_id = app_current_tenant() AND t.waba_id = c.waba_id)"
        " FROM connections c WHERE c.phone_number_id = %s AND c.waba_id IS NOT NULL"
        " ORDER BY c.is_active DESC, c.created_at LIMIT 1",
        (phone_number_id,),
    ).fetchone()
    if row is None:
        return NumberTemplates(waba_id=None, account_has_templates=False, rows=[])
    waba_id, account_has_templates = row
    with conn.cursor(row_factory=class_row(TemplateRow)) as cursor:
        rows = cursor.execute(
            f"SELECT {_COLUMNS} FROM message_templates"
            " WHERE tenant_id = app_current_tenant() AND waba_id = %s AND name = %s ORDER BY language",
            (waba_id, name),
        ).fetchall()
    return NumberTemplates(waba_id=waba_id, account_has_templates=account_has_templates, rows=rows)


@dataclass
class TemplateUpdates:
    """Column-wise: one entry per template webhook change. None leaves that column as it is."""

    provider_ids: list[str | None] = field(default_factory=list)
    names: list[str | None] = field(default_factory=list)
    languages: list[str | None] = field(default_factory=list)
    statuses: list[str | None] = field(default_factory=list)
    qualities: list[str | None] = field(default_factory=list)
    categories: list[str | None] = field(default_factory=list)
    events: list[str | None] = field(default_factory=list)
    reasons: list[str | None] = field(default_factory=list)


_APPLY_UPDATES = """
WITH
input AS (
    SELECT * FROM unnest(%(provider_ids)s::text[], %(names)s::text[], %(languages)s::text[], %(statuses)s::text[],
                         %(qualities)s::text[], %(categories)s::text[], %(events)s::text[], %(reasons)s::text[])
         WITH ORDINALITY AS u (provider_id, name, language, status, quality, category, event, reason, position)
),
-- A change names its template by Meta's id and by name + language: either finds the row. Several changes for one
-- template in one delivery apply in the order Meta listed them (the last one's value of each column wins).
matched AS (
    SELECT m.id,
           (array_agg(u.status ORDER BY u.position DESC) FILTER (WHERE u.status IS NOT NULL))[1] AS status,
           (array_agg(u.quality ORDER BY u.position DESC) FILTER (WHERE u.quality IS NOT NULL))[1] AS quality,
           (array_agg(u.category ORDER BY u.position DESC) FILTER (WHERE u.category IS NOT NULL))[1] AS category,
           (array_agg(u.event ORDER BY u.position DESC) FILTER (WHERE u.event IS NOT NULL))[1] AS event,
           (array_agg(u.reason ORDER BY u.position DESC) FILTER (WHERE u.event IS NOT NULL))[1] AS reason
    FROM input u
    JOIN message_templates m
      ON m.tenant_id = %(tenant_id)s AND m.waba_id = %(waba_id)s
     AND ((u.provider_id IS NOT NULL AND m.provider_id = u.provider_id)
          OR (m.name = u.name AND m.language = u.language))
    GROUP BY m.id
)
UPDATE message_templates m
SET status = COALESCE(x.status, m.status),
    quality = COALESCE(x.quality, m.quality),
    category = COALESCE(x.category, m.category),
    last_event = COALESCE(x.event, m.last_event),
    last_event_reason = CASE WHEN x.event IS NOT NULL THEN x.reason ELSE m.last_event_reason END,
    updated_at = now()
FROM matched x
WHERE m.id = x.id
RETURNING m.id
"""


def apply_template_updates(
    conn: psycopg.Connection[Any], *, tenant_id: UUID, waba_id: str, updates: TemplateUpdates
) -> int:
    """Apply the webhook's changes to the templates they name; a template not synced yet is left to the next sync.
    Returns how many templates changed."""
    params: dict[str, Any] = dict(vars(updates)) | {"tenant_id": tenant_id, "waba_id": waba_id}
    return len(conn.execute(_APPLY_UPDATES, params).fetchall())


def find_template_account_tenants(conn: psycopg.Connection[Any], waba_id: str) -> list[UUID]:
    # A SECURITY DEFINER function: the template webhook's one narrow way through RLS before it knows the tenant.
    return [row[0] for row in conn.execute("SELECT tenant_id FROM find_template_account_tenants(%s)", (waba_id,))]


def template_sync_accounts(
    conn: psycopg.Connection[Any], *, synced_before: datetime, limit: int
) -> list[tuple[UUID, str]]:
    # A SECURITY DEFINER function: the scheduled run's (tenant, WABA) pairs due a sync, across tenants.
    return [
        (row[0], row[1])
        for row in conn.execute("SELECT tenant_id, waba_id FROM template_sync_accounts(%s, %s)", (synced_before, limit))
    ]


def set_connection_waba(conn: psycopg.Connection[Any], connection_id: str, waba_id: str | None) -> bool:
    """Record (or, with None, forget) the WhatsApp Business Account of a connection; False when there is none."""
    row = conn.execute(
        "UPDATE connections SET waba_id = %s WHERE connection_id = %s RETURNING id", (waba_id, connection_id)
    ).fetchone()
    return row is not None


def connection_accounts(conn: psycopg.Connection[Any], connection_id: str | None) -> list[tuple[UUID, str]]:
    """(tenant, WABA) of one connection, or of every connection that records one (the admin CLI's sync)."""
    return [
        (row[0], row[1])
        for row in conn.execute(
            "SELECT DISTINCT tenant_id, waba_id FROM connections"
            " WHERE waba_id IS NOT NULL AND (%(id)s::text IS NULL OR connection_id = %(id)s) ORDER BY 1, 2",
            {"id": connection_id},
        )
    ]
