"""`GET /v1/templates`: the tenant's templates as last synced, with what a send of each must give."""

from __future__ import annotations

from typing import Any

import psycopg

from threadline.caller import Caller
from threadline.channels.whatsapp.templates import template_parameters
from threadline.db.repositories.message_templates import (
    TemplateFilters,
    TemplatePosition,
    TemplateRow,
    find_connection_waba,
    list_templates,
)
from threadline.db.tenancy import run_in_transaction
from threadline.domain.pagination import InvalidCursor, decode_keyset_cursor, encode_keyset_cursor, list_fingerprint
from threadline.errors import InvalidRequest
from threadline.models.templates import TemplateList, TemplateListQuery, TemplateView


def template_view(row: TemplateRow) -> TemplateView:
    return TemplateView(
        id=str(row.id),
        waba_id=row.waba_id,
        template_id=row.provider_id,
        name=row.name,
        language=row.language,
        status=row.status,
        category=row.category,
        quality=row.quality,
        parameter_format="named" if (row.parameter_format or "").upper() == "NAMED" else "positional",
        components=row.components,
        parameters=template_parameters(row.components),
        last_event=row.last_event,
        synced_at=row.synced_at,
        updated_at=row.updated_at,
    )


def _fingerprint(query: TemplateListQuery) -> str:
    """Which list a cursor belongs to: it continues only the list with the same filters."""
    return list_fingerprint("templates", query.status and query.status.upper(), query.name, query.language,
                            query.connection_id)  # fmt: skip


def _after(query: TemplateListQuery) -> TemplatePosition | None:
    if query.cursor is None:
        return None
    try:
        name, language, waba_id = decode_keyset_cursor(query.cursor, _fingerprint(query), 3)
    except InvalidCursor as error:
        raise InvalidRequest(f"cursor is not valid for this list ({error}); start again without it") from None
    if not all(isinstance(part, str) for part in (name, language, waba_id)):
        raise InvalidRequest("cursor is not valid for this list (not a cursor); start again without it")
    return TemplatePosition(name=str(name), language=str(language), waba_id=str(waba_id))


def list_account_templates(caller: Caller, query: TemplateListQuery) -> TemplateList:
    after = _after(query)

    def read(conn: psycopg.Connection[Any]) -> list[TemplateRow]:
        waba_ids = None
        if query.connection_id is not None:
            exists, waba_id = find_connection_waba(conn, query.connection_id)
            if not exists:
                raise InvalidRequest(f"connection_id {query.connection_id!r} is not a connection of this tenant")
            if waba_id is None:
                return []  # a connection that records no WhatsApp Business Account has no templates
            waba_ids = (waba_id,)
        filters = TemplateFilters(status=query.status, name=query.name, language=query.language, waba_ids=waba_ids)
        return list_templates(conn, filters, after=after, limit=query.limit + 1)

    rows = run_in_transaction(read, tenant_id=caller.tenant_id)
    page, last = rows[: query.limit], rows[query.limit - 1] if len(rows) > query.limit else None
    next_cursor = encode_keyset_cursor(_fingerprint(query), [last.name, last.language, last.waba_id]) if last else None
    return TemplateList(templates=[template_view(row) for row in page], next_cursor=next_cursor)
