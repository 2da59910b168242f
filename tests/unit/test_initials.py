"""An author's initials: the first letters of the first and last words."""

from __future__ import annotations

import pytest

from threadline.domain.inbox.messages import initials


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("John Smith", "JS"),
        ("ana maria de souza", "AS"),
        ("Cher", "C"),
        ("  spaced   out  ", "SO"),
        ("+1 555 0100", "10"),
        ("@jane", "J"),
        ("(555) 010-0100", "50"),
        ("Émile Zola", "ÉZ"),
        ("", ""),
        ("- + !", ""),
        ("Jane - Doe", "JD"),  # a word with no letter or digit is skipped
    ],
)
def test_initials(name, expected):
    assert initials(name) == expected
