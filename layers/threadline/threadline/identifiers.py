"""Participant identifiers: phone numbers are normalised and matched by digits, usernames by themselves."""

from __future__ import annotations

import re
from dataclasses import dataclass

# "(555) 123-4567" is a phone number too: before this allowed a leading parenthesis, it became a username contact
# beside the "+1 555..." one.
_PHONE_SHAPE = re.compile(r"^\+?[0-9(][0-9 ()\-.]*$")
_MIN_PHONE_DIGITS = 6
_MAX_PHONE_DIGITS = 15  # E.164


@dataclass(frozen=True)
class ParticipantIdentifier:
    """`identifier` is what a contact is keyed on; `phone_digits` is set for phone numbers only."""

    identifier: str
    phone_digits: str | None


def normalise_identifier(raw: str) -> ParticipantIdentifier:
    """'+1 (234) 567-890' -> '+1234567890' (digits 1234567890); '@JohnDoe' -> '@johndoe' (no digits)."""
    text = raw.strip()
    if _PHONE_SHAPE.match(text):
        digits = re.sub(r"[^0-9]", "", text)
        if _MIN_PHONE_DIGITS <= len(digits) <= _MAX_PHONE_DIGITS:
            return ParticipantIdentifier(identifier=("+" if text.startswith("+") else "") + digits, phone_digits=digits)
    return ParticipantIdentifier(identifier=text.casefold(), phone_digits=None)
