"""How a message's status moves forward, written once for every channel (Meta's status webhooks and connectors'
`POST /v1/ingest/statuses` both compose their statement around it).

A statement that uses it defines, before it, a `targets` CTE with one row per message to move: `message_id`,
`status`, `status_at`, `error_code`, `error_title`, `error_details`, `external_id` (the provider's id for the
message, recorded when the message has none yet; NULL when the report does not name one), and `pricing` and
`billing_conversation` (jsonb: what the provider says the message costs; NULL when the report says nothing). It then reads `advanced`
(the moved messages: id, conversation_id, status, error_code, status_at). The rules:
- forward only (message_status_rank, the order Meta's statuses follow): a late `delivered` never overwrites `read`;
- a `failed` status records its code, title (a default when the provider gives none) and details; a later status
  past `failed` clears them;
- pricing moves with the status: the latest status that moves the message and names a price replaces it, one that
  names none keeps the earlier one;
- the one exception to "forward only": a message the scheduled job failed for want of a confirmation
  (UNCONFIRMED_SEND_TITLE) takes the provider's own word when it comes late;
- rows are locked in id order first, so two reports touching the same messages queue instead of deadlocking.
"""

from __future__ import annotations

from typing import Any

# The title of a send the scheduled job ended because no status confirmed it (migrations 0009, 0030). A status
# that arrives later still wins over it: this failure is the job's conclusion, not the provider's word.
UNCONFIRMED_SEND_TITLE = "Not confirmed by Meta"
# A `failed` status whose provider gave no title.
DEFAULT_FAILURE_TITLE = "Failed on the platform"

ADVANCE_STATUSES = """
locked AS (
    SELECT m.id FROM messages m WHERE m.id IN (SELECT message_id FROM targets) ORDER BY m.id FOR UPDATE
),
advanced AS (
    UPDATE messages m
    SET status = t.status,
        status_updated_at = t.status_at,
        meta_id = COALESCE(m.meta_id, t.external_id),
        error_code = CASE WHEN t.status = 'failed' THEN t.error_code ELSE m.error_code END,
        error_title = CASE WHEN t.status = 'failed' THEN COALESCE(t.error_title, %(default_failure_title)b)
                           WHEN m.status = 'failed' THEN NULL ELSE m.error_title END,
        error_details = CASE WHEN t.status = 'failed' THEN t.error_details
                             WHEN m.status = 'failed' THEN NULL ELSE m.error_details END,
        pricing = COALESCE(t.pricing, m.pricing),
        billing_conversation = COALESCE(t.billing_conversation, m.billing_conversation)
    FROM targets t
    WHERE m.id = t.message_id
      AND m.id IN (SELECT id FROM locked)
      AND (message_status_rank(t.status) > message_status_rank(m.status)
           OR (m.status = 'failed' AND m.error_title = %(unconfirmed_title)b))
    RETURNING m.id, m.conversation_id, m.status, m.error_code, t.status_at
)"""


def advance_parameters() -> dict[str, Any]:
    """The parameters ADVANCE_STATUSES reads, for the composing statement's own."""
    return {"default_failure_title": DEFAULT_FAILURE_TITLE, "unconfirmed_title": UNCONFIRMED_SEND_TITLE}
