"""Meta's template webhooks, applied: each change finds its account's tenants through the WABA their connections
record (a SECURITY DEFINER lookup, before any tenant is known) and moves the synced template's status, quality or
category, one transaction per tenant. A WABA no active connection records is acknowledged and ignored; a template
not synced yet is left to the next sync (its row, with components, comes from Meta's list)."""

from __future__ import annotations

from functools import partial

from threadline.channels.whatsapp.templates import template_updates_by_account
from threadline.db.repositories.message_templates import apply_template_updates, find_template_account_tenants
from threadline.db.tenancy import run_in_transaction
from threadline.observability import logger


def apply_template_notifications(body: bytes) -> int:
    """The templates the notification changed (0 when it carries no template change)."""
    changed = 0
    for waba_id, updates in sorted(template_updates_by_account(body).items()):
        tenants = run_in_transaction(partial(find_template_account_tenants, waba_id=waba_id))
        if not tenants:
            logger.warning(
                "template webhook for a WABA no active connection records; acknowledged, nothing stored",
                extra={"waba_id": waba_id, "changes": len(updates.names)},
            )
        for tenant_id in tenants:
            apply = partial(apply_template_updates, tenant_id=tenant_id, waba_id=waba_id, updates=updates)
            changed += run_in_transaction(apply, tenant_id=tenant_id)
    return changed
