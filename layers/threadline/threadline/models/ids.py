"""Ids as clients write them, parsed one way everywhere: Threadline's numeric ids (PostgreSQL bigints) and uuids."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from threadline.errors import ThreadlineError

# Numeric ids are PostgreSQL bigints.
MAX_ID = 2**63 - 1
_MAX_ID_DIGITS = len(str(MAX_ID))
# The 400 for a conversation id in a path that is not one (written once here, beside the parser, so a route that
# only parses ids does not load the conversation list's models for the sentence).
CONVERSATION_ID_EXPLANATION = "conversation id must be a positive integer"


def is_plain_id(raw: str) -> bool:
    """Plain ASCII digits naming a bigint id: no sign, spaces, exponent, or other scripts' digits ("²", "٣")."""
    # The length check first: int() of a huge digit string is slow, and refused beyond 4,300 digits.
    return len(raw) <= _MAX_ID_DIGITS and raw.isascii() and raw.isdigit() and 1 <= int(raw) <= MAX_ID


def parse_id(raw: str, *, explanation: str, refuse: Callable[[str], ThreadlineError]) -> int:
    """A positive bigint written in plain digits, or `refuse(explanation)`."""
    if not is_plain_id(raw):
        raise refuse(explanation)
    return int(raw)


def parse_uuid(value: object) -> UUID | None:
    """A uuid in any of its spellings, or None for anything else (absent, empty, malformed)."""
    if not value:
        return None
    try:
        return UUID(str(value))
    except ValueError:
        return None
