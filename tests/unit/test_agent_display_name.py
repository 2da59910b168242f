"""How activity messages and frames name an agent: the name, else the email, else "Agent"."""

from __future__ import annotations

import uuid

import pytest

from threadline.db.repositories.lifecycle import AgentRecord


@pytest.mark.parametrize(
    ("name", "email", "shown"),
    [("Ana", "ana@acme.test", "Ana"), ("", "ana@acme.test", "ana@acme.test"), ("", None, "Agent")],
)
def test_an_agent_is_shown_by_name_then_email(name, email, shown):
    agent = AgentRecord(id=uuid.uuid4(), name=name, email=email, avatar_url=None, availability="online")

    assert agent.display_name == shown
