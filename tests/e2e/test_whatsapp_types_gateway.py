"""Every message type Meta's webhook reference documents, end to end through the local gateway as `make dev` serves
it: signed notifications POSTed over HTTP to /v1/webhooks/whatsapp, then both message views read over HTTP with an
agent's bearer token. Each type reads as what it is (never "Unsupported message (...)"), with its typed data; media
are listed as attachments; a reaction lands on its target and a quoted reply names what it quotes."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from devtools.auth import issue_token
from tests.support.factories import Number
from tests.support.meta_payloads import (
    APP_SECRET,
    DOCUMENTED_MESSAGES,
    change,
    contact,
    documented_message,
    inbound,
    notification,
    text_message,
    wamid,
)
from threadline.meta.webhook import SIGNATURE_HEADER, signature_for

pytestmark = pytest.mark.usefixtures("meta_secrets")

MEDIA_TYPES = {"image", "sticker", "audio", "video", "document"}
TYPED = {
    "location",
    "contacts",
    "order",
    "button",
    "interactive",
    "system",
    "request_welcome",
    "unsupported",
    "sticker",
}


def post_signed(gateway: Any, number: Number, *messages: dict[str, Any]) -> None:
    raw = json.dumps(
        notification(change(number.phone_number_id, contacts=[contact()], messages=list(messages)))
    ).encode()
    answer = requests.post(
        f"{gateway.base_url}/v1/webhooks/whatsapp",
        data=raw,
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: signature_for(raw, APP_SECRET)},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text


def views(gateway: Any, number: Number, conversation_id: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    headers = {"Authorization": f"Bearer {issue_token(tenant_id=str(number.tenant_id))}"}
    listed = requests.get(
        f"{gateway.base_url}/api/v1/conversations/{conversation_id}/messages?limit=100", headers=headers, timeout=30
    )
    agent = requests.get(
        f"{gateway.base_url}/api/agent/conversations/{conversation_id}/messages?limit=100", headers=headers, timeout=30
    )
    assert listed.status_code == 200, listed.text
    assert agent.status_code == 200, agent.text
    return listed.json()["messages"], agent.json()["data"]["messages"]


def test_every_documented_type_reads_as_what_it_is_in_both_views(gateway, number, admin):
    sent = {message_type: wamid() for message_type in DOCUMENTED_MESSAGES}
    post_signed(gateway, number, *(documented_message(meta_id, kind) for kind, meta_id in sent.items()))
    rows = dict(
        admin.execute(
            "SELECT meta_id, id FROM messages WHERE tenant_id = %s AND meta_id = ANY(%s)",
            (number.tenant_id, list(sent.values())),
        ).fetchall()
    )
    assert set(rows) == set(sent.values())  # every type stored, none kept as a dead letter
    conversation_id = admin.execute(
        "SELECT conversation_id FROM messages WHERE id = %s", (rows[sent["text"]],)
    ).fetchone()[0]  # type: ignore[index]

    listed, agent = views(gateway, number, conversation_id)

    by_id = {message["id"]: message for message in listed}
    agent_by_id = {message["id"]: message for message in agent}
    for kind, meta_id in sent.items():
        shown, shown_to_agent = by_id[rows[meta_id]], agent_by_id[rows[meta_id]]
        assert not shown["content"].startswith("Unsupported message"), (kind, shown["content"])
        assert shown["content"] == shown_to_agent["body"], kind
        if kind in TYPED:
            assert shown["details"] is not None and shown["details"]["kind"] == kind, (kind, shown["details"])
            assert shown_to_agent["details"] == shown["details"], kind
        if kind in MEDIA_TYPES:
            [attachment] = shown["attachments"]
            assert attachment["state"] in ("pending", "stored", "failed"), (kind, attachment)
            assert shown_to_agent["attachments"][0]["state"] == attachment["state"], kind
    assert by_id[rows[sent["order"]]]["details"]["items"][0]["quantity"] == 2
    assert by_id[rows[sent["unsupported"]]]["details"]["error"]["title"] == "Message type unknown"


def test_a_reaction_lands_on_its_target_and_a_quote_names_what_it_quotes(gateway, number, admin):
    target, quote = wamid(), wamid()
    post_signed(gateway, number, text_message(target, "Is it in stock?"))
    post_signed(
        gateway,
        number,
        inbound(wamid(), "reaction", {"message_id": target, "emoji": "👍"}),
        text_message(quote, "And in blue?") | {"context": {"from": "16505551234", "id": target}},
    )
    target_id, conversation_id = admin.execute(
        "SELECT id, conversation_id FROM messages WHERE tenant_id = %s AND meta_id = %s", (number.tenant_id, target)
    ).fetchone()  # type: ignore[misc]

    listed, agent = views(gateway, number, conversation_id)

    assert len(listed) == 2  # the reaction is no message of its own
    for view in (listed, agent):
        by_id = {message["id"]: message for message in view}
        assert [reaction["emoji"] for reaction in by_id[target_id]["reactions"]] == ["👍"]
        [quoting] = [message for message in view if message["id"] != target_id]
        assert quoting["reply_to"]["id"] == target_id
        assert quoting["reply_to"]["content"] == "Is it in stock?"
