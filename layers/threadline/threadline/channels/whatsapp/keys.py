"""WhatsApp conversations that Threadline opens itself, from Meta's webhook or from a send.

Connectors choose their own `external_conversation_id`s; when Threadline has to name a WhatsApp conversation it
uses `whatsapp:{phone_number_id}:{contact_key}`, so the webhook and the send path always agree on it. The contact
key is the customer's wa_id (phone digits) or, for a user who adopted a username and arrives without one, Meta's
business-scoped user id (BSUID).
"""

from __future__ import annotations


def whatsapp_contact_key(wa_id: str | None, whatsapp_user_id: str | None) -> str:
    """The wa_id when Meta shares one; otherwise the business-scoped user id, kept exactly as Meta sent it."""
    key = wa_id or whatsapp_user_id
    if not key:
        raise ValueError("a WhatsApp contact needs a wa_id or a business-scoped user id")
    return key


def whatsapp_conversation_key(phone_number_id: str, contact_key: str) -> str:
    return f"whatsapp:{phone_number_id}:{contact_key}"
