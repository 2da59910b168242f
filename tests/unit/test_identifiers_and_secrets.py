from __future__ import annotations

import pytest

from threadline.domain.intake.secrets import api_secret_matches, digest_api_secret, generate_api_secret
from threadline.identifiers import normalise_identifier


@pytest.mark.parametrize(
    ("raw", "identifier", "digits"),
    [
        ("+1234567890", "+1234567890", "1234567890"),
        ("+1 (234) 567-890", "+1234567890", "1234567890"),
        ("07700 900123", "07700900123", "07700900123"),
        ("  +44.7700.900.123 ", "+447700900123", "447700900123"),
        ("@JohnDoe", "@johndoe", None),
        ("john.doe", "john.doe", None),
        ("12345", "12345", None),  # too short to be a phone number: matched as a username
        ("wxid_abc123", "wxid_abc123", None),
    ],
)
def test_participant_identifiers_are_normalised(raw, identifier, digits):
    normalised = normalise_identifier(raw)
    assert (normalised.identifier, normalised.phone_digits) == (identifier, digits)


def test_api_secrets_are_random_and_checked_against_their_digest_only():
    first, second = generate_api_secret(), generate_api_secret()
    assert first != second and len(first) > 40
    digest = digest_api_secret(first)
    assert len(digest) == 64 and first not in digest
    assert api_secret_matches(first, digest)
    assert not api_secret_matches(second, digest)
