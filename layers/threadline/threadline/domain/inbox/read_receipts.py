"""Read receipts (WhatsApp's, the one channel with the capability today): telling the customer their messages were read (the blue ticks), as the tenant chose.

`tenants.read_receipts`: `never` (the default); `on_read`, when an agent marks the conversation read or replies
(a reply reads the conversation too); `on_reply`, only when an agent replies. One Graph call marks the newest
inbound message the agent has covered, and Meta marks every earlier one with it.

A receipt is a courtesy to the customer: it goes out after the agent's write committed, within a short budget,
and whatever happens at Meta (down, slow, refusing) the agent's request succeeds; the failure is logged and
counted (metric ReadReceiptFailures).
"""

from __future__ import annotations

import time
from typing import Any, Literal

import psycopg
from aws_lambda_powertools.metrics import MetricUnit

from threadline.channels import MarksRead, find_channel
from threadline.db.repositories.annotations import ReceiptTarget, find_receipt_target
from threadline.db.tenancy import run_in_transaction
from threadline.observability import logger, metrics
from threadline.vocabulary import ReadReceipts

# How long an agent's request may wait for Meta's answer to a receipt.
RECEIPT_BUDGET_SECONDS = 3.0

ReceiptOccasion = Literal["read", "reply"]
_SENT_ON: dict[ReceiptOccasion, frozenset[ReadReceipts]] = {
    "read": frozenset({"on_read"}),
    "reply": frozenset({"on_read", "on_reply"}),
}


def send_read_receipt(target: ReceiptTarget | None, occasion: ReceiptOccasion) -> None:
    """Mark `target.wamid` read at Meta when the tenant's policy asks for it on this occasion. Never raises."""
    if target is None or target.wamid is None or target.policy not in _SENT_ON[occasion]:
        return
    channel = find_channel(target.platform)
    if not isinstance(channel, MarksRead):
        return  # this channel has no read receipts
    try:
        channel.mark_read(
            sender=target.phone_number_id,
            message_external_id=target.wamid,
            deadline=time.monotonic() + RECEIPT_BUDGET_SECONDS,
        )
    except Exception as error:
        logger.warning(
            "read receipt not delivered to Meta",
            extra={"wamid": target.wamid, "error_class": type(error).__name__, "error": str(error)},
        )
        metrics.add_metric(name="ReadReceiptFailures", unit=MetricUnit.Count, value=1)
        return
    metrics.add_metric(name="ReadReceiptsSent", unit=MetricUnit.Count, value=1)


def send_read_receipt_after_reply(tenant_id: Any, conversation_id: int) -> None:
    """The send path's hook: an agent's reply reached the customer, so the newest inbound message is read."""
    try:

        def find(conn: psycopg.Connection[Any]) -> ReceiptTarget | None:
            return find_receipt_target(conn, conversation_id, after_id=None, up_to_id=None)

        target = run_in_transaction(find, tenant_id=tenant_id)
    except Exception:
        logger.exception("read receipt lookup failed", extra={"conversation_id": conversation_id})
        return
    send_read_receipt(target, "reply")
