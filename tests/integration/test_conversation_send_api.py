"""POST /api/v1/conversations/{id}/messages and /v1/...: text, media and templates through the conversation's
number, replies, the tenant rule (403 for another tenant's conversation) and platforms we cannot send on."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from tests.support.database import table_counts
from tests.support.send import WhatsAppTenant, call_send, customer_wrote, make_whatsapp_tenant, outbound_messages

PHONE = "+447700900123"
SEED_EVENT = "conversation-send-seed-path.json"
V1_EVENT = "conversation-send-v1.json"
TEMPLATE = {
    "name": "order_update",
    "language": "en_US",
    "components": [{"type": "body", "parameters": [{"type": "text", "text": "42"}]}],
}


@pytest.fixture
def tenant(admin: psycopg.Connection[Any]) -> WhatsAppTenant:
    return make_whatsapp_tenant(admin)


def send(tenant: WhatsAppTenant, conversation_id: int | str, body: Any, event_file: str = SEED_EVENT, **kwargs: Any):
    return call_send(body, tenant_id=tenant.tenant_id, event_file=event_file, conversation_id=conversation_id, **kwargs)


@pytest.mark.parametrize("event_file", [SEED_EVENT, V1_EVENT])
def test_text_goes_out_through_the_conversations_number(admin, fake_graph, tenant, event_file):
    conversation = customer_wrote(tenant, phone=PHONE, ago=timedelta(minutes=10))

    status, body = send(tenant, conversation, {"content": "We are on it"}, event_file)

    assert status == 201, body
    assert body["success"] is True and body["message"]["conversation_id"] == conversation
    assert body["message"]["status"] == "sent" and body["meta_id"] == body["message"]["meta_id"]
    (request,) = fake_graph.send_requests
    assert request.phone_number_id == tenant.phone_number_id
    assert request.json["to"] == "447700900123" and request.json["text"]["body"] == "We are on it"
    preview = admin.execute("SELECT last_message_preview FROM conversations WHERE id = %s", (conversation,)).fetchone()
    assert preview == ("We are on it",)


@pytest.mark.parametrize(("media_type", "stored_type"), [("image", "image"), ("document", "file"), ("video", "video")])
def test_media_is_sent_as_a_link_message(admin, fake_graph, tenant, media_type, stored_type):
    conversation = customer_wrote(tenant, phone=PHONE, ago=timedelta(minutes=10))
    media = {"type": media_type, "url": "https://cdn.example.com/file.bin", "caption": "Your file"}
    if media_type == "document":
        media["filename"] = "invoice.pdf"

    status, body = send(tenant, conversation, {"media": media})

    assert status == 201, body
    (request,) = fake_graph.send_requests
    sent = request.json[media_type]
    assert request.json["type"] == media_type and sent["link"] == "https://cdn.example.com/file.bin"
    assert sent["caption"] == "Your file"
    if media_type == "document":
        assert sent["filename"] == "invoice.pdf"
    (row,) = outbound_messages(admin, tenant.tenant_id)
    assert (row["type"], row["media_url"], row["content"]) == (stored_type, media["url"], "Your file")


def test_audio_is_sent_without_a_caption(fake_graph, tenant):
    conversation = customer_wrote(tenant, phone=PHONE, ago=timedelta(minutes=10))
    status, body = send(tenant, conversation, {"media": {"type": "audio", "url": "https://cdn.example.com/a.ogg"}})
    assert status == 201, body
    assert fake_graph.send_requests[0].json["audio"] == {"link": "https://cdn.example.com/a.ogg"}


def test_a_reply_quotes_the_original_message_by_its_whatsapp_id(admin, fake_graph, tenant):
    conversation = customer_wrote(tenant, phone=PHONE, ago=timedelta(minutes=10))
    first = send(tenant, conversation, {"content": "First"})[1]["message"]

    status, body = send(tenant, conversation, {"content": "About that", "reply_to": str(first["id"])})
    assert status == 201, body
    assert fake_graph.send_requests[1].json["context"] == {"message_id": first["meta_id"]}

    status, body = send(tenant, conversation, {"content": "And that", "reply_to": "wamid.FROM-CLIENT"})
    assert status == 201, body
    assert fake_graph.send_requests[2].json["context"] == {"message_id": "wamid.FROM-CLIENT"}


def test_a_reply_to_a_message_of_another_conversation_is_refused(admin, fake_graph, tenant):
    conversation = customer_wrote(tenant, phone=PHONE, ago=timedelta(minutes=10))
    other = customer_wrote(tenant, phone="+15550001111", ago=timedelta(minutes=10))
    elsewhere = send(tenant, other, {"content": "Elsewhere"})[1]["message"]

    status, body = send(tenant, conversation, {"content": "Re", "reply_to": str(elsewhere["id"])})
    assert (status, body) == (400, {"error": "reply_to names no message in this conversation"})
    assert len(fake_graph.send_requests) == 1


def test_outside_the_window_text_is_refused_but_a_template_reopens_the_conversation(admin, fake_graph, tenant):
    conversation = customer_wrote(tenant, phone=PHONE, ago=timedelta(days=3))

    assert send(tenant, conversation, {"content": "Hello again"}) == (400, {"error": "Session window expired"})
    assert fake_graph.send_requests == []

    status, body = send(tenant, conversation, {"template": TEMPLATE}, V1_EVENT)
    assert status == 201, body
    (request,) = fake_graph.send_requests
    assert request.json["type"] == "template"
    assert request.json["template"] == {
        "name": "order_update",
        "language": {"code": "en_US"},
        "components": TEMPLATE["components"],
    }
    (row,) = outbound_messages(admin, tenant.tenant_id)
    assert row["type"] == "template" and row["payload"]["template"]["name"] == "order_update"


def test_another_tenants_conversation_is_403_and_a_missing_one_404(admin, fake_graph, tenant):
    conversation = customer_wrote(tenant, phone=PHONE, ago=timedelta(minutes=10))
    intruder = make_whatsapp_tenant(admin)
    before = table_counts(admin)

    assert send(intruder, conversation, {"content": "Hi"}) == (403, {"error": "Forbidden"})
    assert send(intruder, 987654321098, {"content": "Hi"}) == (404, {"error": "Conversation not found"})
    assert send(intruder, "not-a-number", {"content": "Hi"}) == (404, {"error": "Conversation not found"})
    assert table_counts(admin) == before and fake_graph.send_requests == []


def test_a_connector_channel_without_an_outbound_url_is_a_clear_400(admin, make_connector, fake_graph):
    telegram = make_connector("telegram")
    tenant = WhatsAppTenant(telegram.tenant_id, telegram.connection_id, telegram.api_secret, "")
    conversation = customer_wrote(tenant, phone="@johndoe", ago=timedelta(minutes=1), platform="telegram")
    before = table_counts(admin)

    status, body = send(tenant, conversation, {"content": "Hi"})

    assert status == 400 and "telegram" in body["error"] and "has no outbound_url" in body["error"]
    assert fake_graph.send_requests == [] and table_counts(admin) == before


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, "content is required (or media, or template)"),
        ({"content": ""}, "content is required (or media, or template)"),
        ({"content": "x" * 4097}, "content: must be at most 4096 characters"),
        ({"media": {"type": "sticker", "url": "https://x.example/a.webp"}}, "media.type: must be one of"),
        (
            {"media": {"type": "image", "url": "ftp://x.example/a.png"}},
            "media.url: must be an http(s) URL Meta can fetch",
        ),
        ({"media": {"type": "image"}}, "media.url: is required"),
        (
            {"media": {"type": "audio", "url": "https://x.example/a.ogg", "caption": "no"}},
            "audio messages cannot carry a caption",
        ),
        ({"template": {"name": "t", "language": "english"}}, "template.language"),
        ({"template": TEMPLATE, "content": "and text"}, "template cannot be combined with content or media"),
        ({"content": "Hi", "reply_to": ""}, "reply_to: must not be empty"),
        ({"content": 5}, "content: must be a string"),
    ],
)
def test_bad_input_is_400_and_changes_nothing(admin, fake_graph, tenant, body, error):
    conversation = customer_wrote(tenant, phone=PHONE, ago=timedelta(minutes=10))
    before = table_counts(admin)

    status, answer = send(tenant, conversation, body)

    assert status == 400 and answer["error"].startswith(error), answer
    assert table_counts(admin) == before and fake_graph.send_requests == []


def test_idempotency_key_replays_on_the_conversation_route(admin, fake_graph, tenant):
    conversation = customer_wrote(tenant, phone=PHONE, ago=timedelta(minutes=10))
    key = str(uuid.uuid4())
    first = send(tenant, conversation, {"content": "Once"}, idempotency_key=key)
    again = send(tenant, conversation, {"content": "Once"}, idempotency_key=key)
    assert first[0] == 201 and again == first
    assert len(fake_graph.send_requests) == 1
