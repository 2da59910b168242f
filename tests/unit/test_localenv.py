"""The local environment make dev and the tests give the functions."""

from __future__ import annotations

import pytest

from devtools.localenv import local_overrides
from threadline.delivery.addresses import ALLOW_LOOPBACK_VARIABLE


def test_loopback_receivers_are_allowed_locally_unless_the_environment_says_otherwise(monkeypatch):
    monkeypatch.delenv(ALLOW_LOOPBACK_VARIABLE, raising=False)
    assert local_overrides("postgresql://local/db")[ALLOW_LOOPBACK_VARIABLE] == "true"


@pytest.mark.parametrize("value", ["", "false"])
def test_the_aws_address_rule_can_be_chosen_for_the_local_stack(monkeypatch, value):
    monkeypatch.setenv(ALLOW_LOOPBACK_VARIABLE, value)
    assert local_overrides("postgresql://local/db")[ALLOW_LOOPBACK_VARIABLE] == value
