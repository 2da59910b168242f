"""Agents send files they upload: POST /v1/uploads answers a presigned S3 POST (moto's S3 over real HTTP), the
browser posts the file to it, and a send `{media: {upload_id}}` uploads it to (the fake) Meta and sends it by id,
a voice note as audio/ogg; codecs=opus; or puts a presigned URL into a connector's message.outbound."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest
import requests

from tests.support.routes import call_route, service_claims
from tests.support.send import call_send, customer_wrote, make_whatsapp_tenant

PHONE = "+447700900123"
# The first page of an Ogg Opus stream: "OggS", then the OpusHead identification header.
OGG_OPUS = b"OggS\x00\x02" + bytes(20) + b"\x01\x13OpusHead\x01\x01\x38\x01\x80\xbb\x00\x00\x00\x00\x00" + bytes(200)
PNG = b"\x89PNG\r\n\x1a\n" + bytes(300)


@pytest.fixture
def tenant(admin):
    return make_whatsapp_tenant(admin)


def upload(tenant: Any, filename: str, mime_type: str, size: int, path: str = "/v1/uploads") -> tuple[int, Any]:
    body = {"filename": filename, "mime_type": mime_type, "size": size}
    return call_route("POST", path, body=body, claims=service_claims(tenant.tenant_id))


def post_file(answer: dict[str, Any], content: bytes, mime_type: str) -> requests.Response:
    form = answer["upload"]
    return requests.post(form["url"], data=form["fields"], files={"file": ("f", content, mime_type)}, timeout=10)


class TestTheUploadForm:
    @pytest.mark.parametrize("path", ["/v1/uploads", "/api/v1/uploads"])
    def test_a_declared_file_gets_a_presigned_post_bounded_by_its_mediums_limit(self, tenant, media_bucket, path):
        status, body = upload(tenant, "photo.png", "image/png", len(PNG), path)

        assert status == 201, body
        assert (body["media_type"], body["mime_type"], body["max_bytes"]) == ("image", "image/png", 5 * 1024 * 1024)
        fields = body["upload"]["fields"]
        assert fields["key"] == f"uploads/{tenant.tenant_id}/{body['upload_id']}"
        assert fields["Content-Type"] == "image/png"
        policy = json.loads(base64.b64decode(fields["policy"]))
        assert ["content-length-range", 1, 5 * 1024 * 1024] in policy["conditions"]
        assert body["upload"]["url"] == f"{media_bucket.url}/{media_bucket.bucket}/"
        assert post_file(body, PNG, "image/png").status_code == 204
        stored = media_bucket.client().get_object(Bucket=media_bucket.bucket, Key=fields["key"])
        assert stored["Body"].read() == PNG

    @pytest.mark.parametrize(
        ("mime_type", "size", "words"),
        [
            ("image/png", 5 * 1024 * 1024 + 1, "a WhatsApp image is at most 5242880 bytes"),
            ("video/mp4", 16 * 1024 * 1024 + 1, "a WhatsApp video is at most"),
            ("image/svg+xml", 10, "is not a type WhatsApp takes"),
            ("text/html", 10, "is not a type WhatsApp takes"),
        ],
    )
    def test_a_type_or_size_whatsapp_refuses_is_a_400(self, tenant, media_bucket, mime_type, size, words):
        status, body = upload(tenant, "x", mime_type, size)
        assert status == 400
        assert words in body["error"]


class TestSendingAnUpload:
    def test_a_voice_note_reaches_meta_as_ogg_opus_and_is_sent_by_id(self, admin, tenant, media_bucket, fake_graph):
        conversation = customer_wrote(tenant, phone=PHONE, ago=timedelta(minutes=5))
        _, form = upload(tenant, "voice.ogg", "audio/ogg; codecs=opus", len(OGG_OPUS))
        assert post_file(form, OGG_OPUS, "audio/ogg").status_code == 204

        status, body = call_send(
            {"media": {"upload_id": form["upload_id"]}},
            tenant_id=tenant.tenant_id,
            event_file="conversation-send-v1.json",
            conversation_id=conversation,
        )

        assert status == 201, body
        assert body["message"]["type"] == "audio" and body["message"]["status"] == "sent"
        uploads = [r for r in fake_graph.requests if r.method == "POST" and r.path.endswith("/media")]
        assert len(uploads) == 1
        assert uploads[0].path == f"/v24.0/{tenant.phone_number_id}/media"
        (media,) = fake_graph.media.values()
        assert media.content == OGG_OPUS
        assert media.uploaded_type == "audio/ogg; codecs=opus"
        assert b"Content-Type: audio/ogg; codecs=opus" in uploads[0].body
        (sent,) = fake_graph.send_requests
        assert sent.json["type"] == "audio" and sent.json["audio"] == {"id": media.media_id}
        # The sent file is the message's kept medium.
        status, listed = call_route(
            "GET", f"/v1/conversations/{conversation}/messages", claims=service_claims(tenant.tenant_id)
        )
        attachment = listed["messages"][0]["attachments"][0]
        assert attachment["state"] == "stored" and attachment["name"] == "voice.ogg"
        assert requests.get(attachment["url"], timeout=5).content == OGG_OPUS

    def test_ogg_that_is_not_opus_is_refused_before_anything_is_written(self, admin, tenant, media_bucket, fake_graph):
        conversation = customer_wrote(tenant, phone=PHONE, ago=timedelta(minutes=5))
        vorbis = b"OggS\x00\x02" + bytes(20) + b"\x01vorbis" + bytes(100)
        _, form = upload(tenant, "song.ogg", "audio/ogg", len(vorbis))
        post_file(form, vorbis, "audio/ogg")

        status, body = call_send(
            {"media": {"upload_id": form["upload_id"]}},
            tenant_id=tenant.tenant_id,
            event_file="conversation-send-v1.json",
            conversation_id=conversation,
        )

        assert status == 400
        assert "Ogg Opus" in body["error"]
        assert fake_graph.requests == []

    def test_an_upload_never_posted_or_of_another_tenant_is_a_400(self, admin, tenant, media_bucket, fake_graph):
        conversation = customer_wrote(tenant, phone=PHONE, ago=timedelta(minutes=5))
        _, form = upload(tenant, "photo.png", "image/png", len(PNG))
        other = make_whatsapp_tenant(admin)
        _, foreign = upload(other, "photo.png", "image/png", len(PNG))
        post_file(foreign, PNG, "image/png")

        for upload_id, words in ((form["upload_id"], "never uploaded"), (foreign["upload_id"], "names no upload")):
            status, body = call_send(
                {"media": {"upload_id": upload_id, "caption": "Here"}},
                tenant_id=tenant.tenant_id,
                event_file="conversation-send-v1.json",
                conversation_id=conversation,
            )
            assert status == 400, body
            assert words in body["error"]

    def test_an_image_upload_goes_out_with_its_caption(self, admin, tenant, media_bucket, fake_graph):
        conversation = customer_wrote(tenant, phone=PHONE, ago=timedelta(minutes=5))
        _, form = upload(tenant, "photo.png", "image/png", len(PNG))
        post_file(form, PNG, "image/png")

        status, body = call_send(
            {"media": {"upload_id": form["upload_id"], "caption": "Your receipt"}},
            tenant_id=tenant.tenant_id,
            event_file="conversation-send-v1.json",
            conversation_id=conversation,
        )

        assert status == 201, body
        (sent,) = fake_graph.send_requests
        assert sent.json["image"]["caption"] == "Your receipt" and "id" in sent.json["image"]

    def test_the_link_form_keeps_working(self, admin, tenant, media_bucket, fake_graph):
        conversation = customer_wrote(tenant, phone=PHONE, ago=timedelta(minutes=5))
        status, body = call_send(
            {"media": {"type": "image", "url": "https://cdn.example.com/a.png"}},
            tenant_id=tenant.tenant_id,
            event_file="conversation-send-v1.json",
            conversation_id=conversation,
        )
        assert status == 201, body
        (sent,) = fake_graph.send_requests
        assert sent.json["image"] == {"link": "https://cdn.example.com/a.png"}


class TestSendingAnUploadThroughAConnector:
    def test_the_message_outbound_delivery_carries_a_presigned_url_of_the_file(
        self, admin, make_connector, media_bucket
    ):
        from tests.integration.test_connector_callbacks import customer_writes, deliveries_of, with_outbound_url

        connector = make_connector(platform="telegram")
        with_outbound_url(admin, connector, "https://connector.example.com/outbound")
        conversation = customer_writes(connector, "chat-upload")
        _, form = upload(connector, "invoice.pdf", "application/pdf", 9)
        post_file(form, b"%PDF-1.7\n", "application/pdf")

        status, body = call_route(
            "POST",
            f"/v1/conversations/{conversation}/messages",
            body={"media": {"upload_id": form["upload_id"], "caption": "Your invoice"}},
            claims=service_claims(connector.tenant_id),
        )

        assert status == 201, body
        (delivery,) = deliveries_of(admin, connector)
        data = json.loads(delivery["body"])["data"]
        assert data["type"] == "file"
        assert data["media_filename"] == "invoice.pdf"
        assert "X-Amz-Signature=" in data["media_url"]
        fetched = requests.get(data["media_url"], timeout=5)
        assert fetched.content == b"%PDF-1.7\n"
        assert fetched.headers["Content-Disposition"].startswith('attachment; filename="invoice.pdf"')
