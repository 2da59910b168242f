"""Meta's webhook without a database: the signature, the raw body, parsing, and what each message becomes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest

from threadline.channels.whatsapp.content import inbound_content
from threadline.channels.whatsapp.inbound import read_whatsapp_notification
from threadline.channels.whatsapp.keys import whatsapp_contact_key, whatsapp_conversation_key
from threadline.errors import InvalidRequest
from threadline.meta.webhook import (
    InboundMessage,
    raw_body_bytes,
    read_notification,
    signature_for,
    signature_matches,
)

SECRET = "app-secret"
BODY = b'{"object":"whatsapp_business_account","entry":[]}'


class TestSignature:
    def test_the_signature_is_the_hex_hmac_sha256_of_the_body_with_meta_s_prefix(self):
        expected = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
        assert signature_for(BODY, SECRET) == f"sha256={expected}"

    def test_it_matches_the_exact_body_and_secret_only(self):
        good = signature_for(BODY, SECRET)
        assert signature_matches(BODY, good, SECRET)
        assert signature_matches(BODY, good.upper().replace("SHA256=", "sha256="), SECRET)  # hex case is not meaning
        assert not signature_matches(BODY + b" ", good, SECRET)
        assert not signature_matches(BODY, good, "another-secret")
        assert not signature_matches(BODY, good.removeprefix("sha256="), SECRET)
        assert not signature_matches(BODY, "sha256=ümlaut", SECRET)


class TestRawBody:
    def test_text_bodies_are_their_utf8_bytes_and_base64_bodies_are_decoded(self):
        assert raw_body_bytes("héllo", False) == "héllo".encode()
        assert raw_body_bytes(base64.b64encode(b"\x00\xff").decode(), True) == b"\x00\xff"
        assert raw_body_bytes(None, False) == b""

    def test_broken_base64_is_a_400(self):
        with pytest.raises(InvalidRequest):
            raw_body_bytes("not base64!!", True)


def notification(value: dict) -> bytes:
    return json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "1",
                    "changes": [
                        {"field": "messages", "value": {"metadata": {"phone_number_id": "PN"}} | value},
                        {"field": "account_alerts", "value": {"anything": ["goes"]}},
                    ],
                }
            ],
        }
    ).encode()


class TestParsing:
    def test_unknown_fields_are_ignored_and_other_fields_kept_unplaced(self):
        reading = read_notification(
            notification(
                {
                    "brand_new_field": {"x": 1},
                    "messages": [
                        {"from": "1", "id": "w", "timestamp": "1769941800", "type": "text", "text": {"body": "hi"}}
                    ],
                }
            )
        )
        [change] = reading.changes
        [(position, message)] = change.messages
        assert position == 0 and change.problems == []
        assert message.timestamp == datetime(2026, 2, 1, 10, 30, tzinfo=UTC)
        assert message.type_object() == {"body": "hi"}
        [alerts] = reading.unplaced
        assert alerts.reason == "field 'account_alerts' is not one Threadline handles"
        assert json.loads(alerts.raw)["entry"][0]["changes"] == [
            {"field": "account_alerts", "value": {"anything": ["goes"]}}
        ]

    def test_a_timestamp_that_is_not_unix_seconds_is_a_problem_of_its_change_only(self):
        reading = read_notification(
            notification(
                {
                    "messages": [
                        {"from": "1", "id": "w", "timestamp": "2026-02-01", "type": "text"},
                        {"from": "1", "id": "v", "timestamp": "1769941800", "type": "text"},
                    ]
                }
            )
        )
        [change] = reading.changes
        assert change.problems == ["messages[0].timestamp: must be a Unix timestamp in seconds"]
        assert [(position, message.id) for position, message in change.messages] == [(1, "v")]


def message(**fields) -> InboundMessage:
    return InboundMessage.model_validate({"from": "1", "id": "w", "timestamp": "1769941800"} | fields)


@pytest.mark.parametrize(
    ("fields", "expected_type", "expected_content"),
    [
        ({"type": "text", "text": {"body": "Hello"}}, "text", "Hello"),
        ({"type": "image", "image": {"id": "9"}}, "image", "Photo"),
        ({"type": "video", "video": {"id": "9", "caption": "Look"}}, "video", "Look"),
        ({"type": "audio", "audio": {"id": "9"}}, "audio", "Audio"),
        ({"type": "document", "document": {"id": "9"}}, "file", "Document"),
        ({"type": "location", "location": {"latitude": 1.5, "longitude": 2}}, "location", "Location: 1.5, 2"),
        (
            {"type": "interactive", "interactive": {"type": "list_reply", "list_reply": {"id": "a", "title": "Red"}}},
            "text",
            "Red",
        ),
        ({"type": "contacts", "contacts": [{"name": {"formatted_name": "Bob"}}]}, "text", "Contact: Bob"),
        ({"type": "system", "system": {"body": "User changed number"}}, "text", "User changed number"),
        # Meta's title when it gives one; never "Unsupported message (...)" for a type Meta documents.
        (
            {"type": "unsupported", "errors": [{"code": 131051}]},
            "text",
            "This message is not available through WhatsApp's API",
        ),
        (
            {"type": "unsupported", "errors": [{"code": 131051, "title": "Message type unknown"}]},
            "text",
            "Message type unknown",
        ),
        ({"type": "hologram", "hologram": {}}, "text", "Unsupported message (hologram)"),
    ],
)
def test_each_meta_type_becomes_a_threadline_type_and_readable_content(fields, expected_type, expected_content):
    content = inbound_content(message(**fields))
    assert (content.type, content.content) == (expected_type, expected_content)


def test_a_sender_known_by_wa_id_and_bsuid_is_one_sender_keyed_on_the_bsuid():
    read = read_whatsapp_notification(
        notification(
            {
                "contacts": [{"wa_id": "16505551234", "user_id": "US.1", "profile": {"name": "Sheena"}}],
                "messages": [
                    {
                        "from": "16505551234",
                        "id": "a",
                        "timestamp": "1769941800",
                        "type": "text",
                        "text": {"body": "1"},
                    },
                    {
                        "from_user_id": "US.1",
                        "id": "b",
                        "timestamp": "1769941801",
                        "type": "text",
                        "text": {"body": "2"},
                    },
                    {
                        "from": "16505551234",
                        "id": "a",
                        "timestamp": "1769941800",
                        "type": "text",
                        "text": {"body": "1"},
                    },
                ],
            }
        )
    )
    delivery = read.deliveries["PN"]
    batch = delivery.inbound_batch()
    assert batch.sender_keys == ["US.1"]
    assert batch.sender_identifiers == ["+16505551234"] and batch.sender_phone_digits == ["16505551234"]
    assert batch.sender_conversation_keys == ["whatsapp:PN:16505551234"]
    assert batch.message_meta_ids == ["a", "b"]  # the repeated wamid is sent once
    assert batch.sender_last_message_preview == ["2"]


def test_conversation_keys():
    assert whatsapp_conversation_key("106540352242922", whatsapp_contact_key("16505551234", "US.1")) == (
        "whatsapp:106540352242922:16505551234"
    )
    assert whatsapp_contact_key(None, "US.1") == "US.1"
    with pytest.raises(ValueError):
        whatsapp_contact_key(None, None)
