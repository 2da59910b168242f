"""A connector's media_url: listed as given, unless its connection opts in (`--copy-media on`); then copied into
the private bucket after the ingest's commit, fetched under the outbound address rules (no private addresses)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from tests.support.ingest import batch, call_ingest, conversation, message
from tests.support.routes import call_route, service_claims
from threadline.aws.s3 import MediaBucket
from threadline.delivery.media_queue import MediaCopyJob
from threadline.domain.media.copy import copy_media
from threadline.domain.media.worker import MEDIA_SOURCES

PDF = b"%PDF-1.7\n" + bytes(500)


@pytest.fixture
def file_server() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/pdf")
            self.send_header("Content-Length", str(len(PDF)))
            self.end_headers()
            self.wfile.write(PDF)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def ingest_file(connector: Any, url: str) -> int:
    sent = message(
        f"in_{uuid.uuid4().hex[:8]}",
        datetime.now(UTC).isoformat(),
        type="file",
        content="invoice",
        media_url=f"{url}/files/invoice.pdf",
        media_filename="invoice.pdf",
    )
    status, body = call_ingest(batch(connector, conversation("chat-media", "@ana", sent)), api_key=connector.api_secret)
    assert status == 200, body
    return int(body["results"][0]["conversation_id"])


def media_rows(admin: Any, tenant_id: Any) -> list[tuple[Any, ...]]:
    return admin.execute(
        "SELECT message_id, source_kind, source_ref, state, failure_reason FROM message_media WHERE tenant_id = %s",
        (tenant_id,),
    ).fetchall()


def test_without_the_opt_in_the_link_is_listed_as_given(admin, make_connector, media_bucket, file_server):
    connector = make_connector(platform="telegram")
    conversation_id = ingest_file(connector, file_server)

    assert media_rows(admin, connector.tenant_id) == []
    _, body = call_route(
        "GET", f"/v1/conversations/{conversation_id}/messages", claims=service_claims(connector.tenant_id)
    )
    (attachment,) = body["messages"][0]["attachments"]
    assert attachment["url"] == f"{file_server}/files/invoice.pdf" and attachment["state"] is None


def test_with_copy_media_on_the_file_is_copied_after_the_commit(
    admin, make_connector, media_bucket, file_server, monkeypatch
):
    from threadline.db.repositories.media import set_copy_media

    monkeypatch.setenv("WEBHOOK_ALLOW_LOOPBACK_HTTP", "true")
    connector = make_connector(platform="telegram")
    assert set_copy_media(admin, connector.connection_id, True) is True
    conversation_id = ingest_file(connector, file_server)

    ((message_id, kind, source, state, _),) = media_rows(admin, connector.tenant_id)
    assert (kind, source, state) == ("url", f"{file_server}/files/invoice.pdf", "pending")
    assert [job.message_id for job, _ in media_bucket.queue.sent] == [message_id]

    outcome = copy_media(
        MediaCopyJob(connector.tenant_id, message_id), sources=MEDIA_SOURCES, bucket=MediaBucket.from_environment()
    )

    assert outcome.state == "stored"
    _, body = call_route(
        "GET", f"/v1/conversations/{conversation_id}/messages", claims=service_claims(connector.tenant_id)
    )
    (attachment,) = body["messages"][0]["attachments"]
    assert attachment["state"] == "stored" and attachment["name"] == "invoice.pdf"
    assert attachment["disposition"] == "attachment"  # documents are downloads
    assert requests.get(attachment["url"], timeout=5).content == PDF


def test_the_outbound_address_rules_apply_to_the_fetch(admin, make_connector, media_bucket, file_server, monkeypatch):
    from threadline.db.repositories.media import set_copy_media

    monkeypatch.setenv("WEBHOOK_ALLOW_LOOPBACK_HTTP", "false")  # as in AWS: loopback and http are refused
    connector = make_connector(platform="telegram")
    set_copy_media(admin, connector.connection_id, True)
    ingest_file(connector, file_server)
    ((message_id, *_),) = media_rows(admin, connector.tenant_id)

    outcome = copy_media(
        MediaCopyJob(connector.tenant_id, message_id), sources=MEDIA_SOURCES, bucket=MediaBucket.from_environment()
    )

    assert outcome.state == "failed"
    ((_, _, _, state, reason),) = media_rows(admin, connector.tenant_id)
    assert state == "failed" and reason.startswith("media_url refused")
