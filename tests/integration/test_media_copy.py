"""Inbound media kept: the webhook records a pending medium in its transaction and hands it to the copy queue after
its commit; the copy step fetches it from (the fake) Meta with the token, checks it, and puts it into the private
bucket (moto's S3 over real HTTP). Retries, idempotence, the sweep."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from psycopg.rows import dict_row

from tests.support.contracts import checked_event
from tests.support.meta_payloads import change, contact, notification, now_seconds, post, wamid
from threadline.aws.s3 import MediaBucket
from threadline.delivery.media_queue import MediaCopyJob
from threadline.domain.media.copy import copy_media
from threadline.domain.media.handover import sweep_pending_media
from threadline.domain.media.worker import MEDIA_SOURCES

pytestmark = pytest.mark.usefixtures("meta_secrets")

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40


def image_message(media_id: str, *, caption: str | None = "Blue?") -> dict[str, Any]:
    image = {"id": media_id, "mime_type": "image/jpeg", "sha256": "ignored-here"}
    if caption:
        image["caption"] = caption
    return {"from": "16505551234", "id": wamid(), "timestamp": str(now_seconds(-5)), "type": "image", "image": image}


def send_media(number: Any, *messages: dict[str, Any]) -> None:
    answer = post(notification(change(number.phone_number_id, contacts=[contact()], messages=list(messages))))
    assert answer.status == 200, answer.body


def media_row(admin: Any, message_meta_id: str) -> dict[str, Any]:
    with admin.cursor(row_factory=dict_row) as cursor:
        row = cursor.execute(
            "SELECT x.* FROM message_media x JOIN messages m ON m.id = x.message_id WHERE m.meta_id = %s",
            (message_meta_id,),
        ).fetchone()
    assert row is not None
    return row


def copy(row: dict[str, Any], bucket: Any, **kwargs: Any) -> Any:
    job = MediaCopyJob(row["tenant_id"], row["message_id"])
    return copy_media(job, sources=MEDIA_SOURCES, bucket=MediaBucket.from_environment(), **kwargs)


def stored_object(bucket: Any, key: str) -> bytes:
    return bucket.client().get_object(Bucket=bucket.bucket, Key=key)["Body"].read()


class TestTheWebhookRecordsMedia:
    def test_a_media_message_gets_a_pending_row_and_a_job_after_the_commit(self, number, admin, media_bucket):
        message = image_message("1479537139650973")
        send_media(number, message)

        row = media_row(admin, message["id"])
        assert (row["state"], row["source_kind"], row["source_ref"]) == ("pending", "channel", "1479537139650973")
        assert row["mime_type"] == "image/jpeg"
        assert row["tenant_id"] == number.tenant_id
        assert [(job.message_id, delay) for job, delay in media_bucket.queue.sent] == [(row["message_id"], 0)]

    def test_a_text_message_owes_nothing(self, number, admin, media_bucket):
        text = {"from": "16505551234", "id": wamid(), "timestamp": str(now_seconds()), "type": "text"}
        send_media(number, text | {"text": {"body": "hi"}})
        assert (
            admin.execute("SELECT count(*) FROM message_media WHERE tenant_id = %s", (number.tenant_id,)).fetchone()[0]
            == 0
        )
        assert media_bucket.queue.sent == []

    def test_meta_resending_the_notification_records_nothing_twice(self, number, admin, media_bucket):
        message = image_message("55")
        send_media(number, message)
        send_media(number, message)
        assert (
            admin.execute("SELECT count(*) FROM message_media WHERE tenant_id = %s", (number.tenant_id,)).fetchone()[0]
            == 1
        )
        assert len(media_bucket.queue.sent) == 1


class TestTheCopy:
    def test_the_file_is_fetched_with_the_token_checked_and_stored_privately(
        self, number, admin, media_bucket, fake_graph
    ):
        media_id = fake_graph.add_media(JPEG, "image/jpeg")
        message = image_message(media_id)
        send_media(number, message)
        row = media_row(admin, message["id"])

        outcome = copy(row, media_bucket)

        assert outcome.state == "stored"
        stored = media_row(admin, message["id"])
        assert stored["state"] == "stored"
        assert stored["size_bytes"] == len(JPEG)
        assert stored["sha256"] == hashlib.sha256(JPEG).hexdigest()
        assert stored["s3_key"] == f"{number.tenant_id}/{row['conversation_id']}/{row['message_id']}"
        assert stored_object(media_bucket, stored["s3_key"]) == JPEG
        head = media_bucket.client().head_object(Bucket=media_bucket.bucket, Key=stored["s3_key"])
        assert head["ContentType"] == "image/jpeg"
        # Both requests to Meta carried the token.
        media_requests = [r for r in fake_graph.requests if r.method == "GET"]
        assert len(media_requests) == 2
        assert all(r.headers["authorization"].startswith("Bearer ") for r in media_requests)
        event = admin.execute(
            "SELECT data FROM events WHERE tenant_id = %s AND type = 'message.updated' ORDER BY seq DESC LIMIT 1",
            (number.tenant_id,),
        ).fetchone()[0]
        assert event["message_id"] == row["message_id"]
        assert event["media"]["state"] == "stored"
        assert event["media"]["sha256"] == stored["sha256"]
        assert event["previous_status"] == event["status"]
        checked_event({"type": "message.updated", "data": event})  # held to its model, nothing missing or extra

    def test_a_redelivered_job_does_nothing_twice(self, number, admin, media_bucket, fake_graph):
        message = image_message(fake_graph.add_media(JPEG, "image/jpeg"))
        send_media(number, message)
        row = media_row(admin, message["id"])
        assert copy(row, media_bucket).state == "stored"
        requests_before = len(fake_graph.requests)
        events_before = admin.execute(
            "SELECT count(*) FROM events WHERE tenant_id = %s", (number.tenant_id,)
        ).fetchone()[0]

        assert copy(row, media_bucket).state == "done"

        assert len(fake_graph.requests) == requests_before
        assert (
            admin.execute("SELECT count(*) FROM events WHERE tenant_id = %s", (number.tenant_id,)).fetchone()[0]
            == events_before
        )

    def test_a_503_is_retried_later_and_never_loses_the_file(self, number, admin, media_bucket, fake_graph):
        message = image_message(fake_graph.add_media(JPEG, "image/jpeg"))
        send_media(number, message)
        row = media_row(admin, message["id"])
        fake_graph.media_unavailable(1)

        first = copy(row, media_bucket)

        assert first.state == "retry"
        assert 15 <= first.retry_in_seconds <= 30
        pending = media_row(admin, message["id"])
        assert (pending["state"], pending["attempts"]) == ("pending", 1)
        assert "503" in pending["failure_reason"]
        # Too early: the job is put back, nothing fetched.
        assert copy(row, media_bucket).state == "not_due"
        second = copy(row, media_bucket, now=datetime.now(UTC) + timedelta(minutes=1))
        assert second.state == "stored"
        assert stored_object(media_bucket, media_row(admin, message["id"])["s3_key"]) == JPEG

    def test_a_download_whose_digest_differs_from_metas_is_not_stored(self, number, admin, media_bucket, fake_graph):
        message = image_message(fake_graph.add_media(JPEG, "image/jpeg", sha256="0" * 64))
        send_media(number, message)
        row = media_row(admin, message["id"])

        outcome = copy(row, media_bucket)

        assert (outcome.state, outcome.reason) == ("retry", "sha256 does not match the provider's")
        listed = media_bucket.client().list_objects_v2(Bucket=media_bucket.bucket, Prefix=f"{number.tenant_id}/")
        assert listed.get("KeyCount", 0) == 0

    def test_an_id_meta_no_longer_knows_fails_at_once_with_the_reason(self, number, admin, media_bucket, fake_graph):
        message = image_message("987654321")
        send_media(number, message)

        outcome = copy(media_row(admin, message["id"]), media_bucket)

        assert outcome.state == "failed"
        failed = media_row(admin, message["id"])
        assert failed["state"] == "failed"
        assert "does not know this media id" in failed["failure_reason"]

    def test_after_24_hours_of_failures_it_is_given_up(self, number, admin, media_bucket, fake_graph):
        message = image_message(fake_graph.add_media(JPEG, "image/jpeg"))
        send_media(number, message)
        fake_graph.media_unavailable(5)

        outcome = copy(media_row(admin, message["id"]), media_bucket, now=datetime.now(UTC) + timedelta(hours=25))

        assert outcome.state == "failed"
        assert media_row(admin, message["id"])["failure_reason"].startswith("gave up after 24 hours")


class TestTheGraphStandIn:
    def test_media_are_served_only_with_the_token_and_only_while_the_url_lives(self, fake_graph):
        media_id = fake_graph.add_media(JPEG, "image/jpeg")
        info_url = f"{fake_graph.base_url}/v24.0/{media_id}"
        assert requests.get(info_url, timeout=5).status_code == 401
        info = requests.get(info_url, headers={"Authorization": "Bearer t"}, timeout=5).json()
        assert info["sha256"] == hashlib.sha256(JPEG).hexdigest()
        assert info["file_size"] == str(len(JPEG))
        assert requests.get(info["url"], timeout=5).status_code == 401
        assert requests.get(info["url"], headers={"Authorization": "Bearer t"}, timeout=5).content == JPEG

        fake_graph.media_url_ttl_seconds = -1
        expired = requests.get(info_url, headers={"Authorization": "Bearer t"}, timeout=5).json()["url"]
        assert requests.get(expired, headers={"Authorization": "Bearer t"}, timeout=5).status_code == 404


class TestTheSweep:
    def test_a_lost_hand_over_is_handed_over_again_once_stale(self, number, admin, media_bucket):
        message = image_message("77")
        send_media(number, message)
        row = media_row(admin, message["id"])
        media_bucket.queue.sent.clear()

        # The sweep crosses tenants: other tests' pending media are put out of its way.
        admin.execute(
            "UPDATE message_media SET state = 'failed', failure_reason = 'another test' WHERE tenant_id <> %s",
            (number.tenant_id,),
        )

        assert sweep_pending_media() == 0  # just handed over: a queue may still hold it
        later = datetime.now(UTC) + timedelta(minutes=30)
        assert sweep_pending_media(now=later) == 1
        assert [job.message_id for job, _ in media_bucket.queue.sent] == [row["message_id"]]
        assert sweep_pending_media(now=later) == 0


class TestTheFunction:
    def test_copy_media_function_copies_the_jobs_of_its_sqs_batch(self, number, admin, media_bucket, fake_graph):
        import json

        from devtools.lambda_runtime import LocalLambdaContext, load_handler
        from devtools.template import load_template
        from tests.support.paths import load_event

        message = image_message(fake_graph.add_media(JPEG, "image/jpeg"))
        send_media(number, message)
        row = media_row(admin, message["id"])
        event = load_event("media-copy-job.json")
        record = event["Records"][0]
        record["body"] = json.dumps({"tenant_id": str(number.tenant_id), "message_id": row["message_id"]})
        gone = dict(record, messageId="gone", body=json.dumps({"tenant_id": str(number.tenant_id), "message_id": 1}))
        event["Records"] = [record, gone]

        handler = load_handler(load_template().functions["CopyMediaFunction"])
        answer = handler(event, LocalLambdaContext(function_name="CopyMediaFunction"))

        assert answer == {"batchItemFailures": []}
        assert media_row(admin, message["id"])["state"] == "stored"


class TestTheViews:
    """Both message views list a kept medium: its state while pending, a presigned GET of the private bucket once
    stored (which the browser opens directly: here, plain requests), and the reason once failed."""

    def conversation_of(self, admin, meta_id):
        return admin.execute("SELECT conversation_id, id FROM messages WHERE meta_id = %s", (meta_id,)).fetchone()

    def attachments(self, number, conversation_id):
        from tests.support.routes import call_route, service_claims

        claims = service_claims(number.tenant_id)
        status, body = call_route("GET", f"/api/v1/conversations/{conversation_id}/messages", claims=claims)
        assert status == 200, body
        status, agent = call_route("GET", f"/api/agent/conversations/{conversation_id}/messages", claims=claims)
        assert status == 200, agent
        return body["messages"][0]["attachments"], agent["data"]["messages"][-1]["attachments"]

    def test_pending_then_stored_with_a_url_the_browser_opens(self, number, admin, media_bucket, fake_graph):
        message = image_message(fake_graph.add_media(JPEG, "image/jpeg"))
        send_media(number, message)
        conversation_id, _ = self.conversation_of(admin, message["id"])

        pending, agent_pending = self.attachments(number, conversation_id)
        assert pending == agent_pending
        assert pending[0]["state"] == "pending"
        assert pending[0]["url"] is None
        assert pending[0]["type"] == "image/jpeg"

        copy(media_row(admin, message["id"]), media_bucket)
        stored, agent_stored = self.attachments(number, conversation_id)

        attachment = stored[0]
        assert attachment["state"] == "stored"
        assert attachment["size"] == len(JPEG)
        assert attachment["sha256"] == hashlib.sha256(JPEG).hexdigest()
        assert attachment["disposition"] == "inline"
        assert attachment["url"].startswith(f"{media_bucket.url}/{media_bucket.bucket}/{number.tenant_id}/")
        assert "X-Amz-Signature=" in attachment["url"] and "X-Amz-Expires=300" in attachment["url"]
        opened = requests.get(attachment["url"], timeout=5)
        assert opened.status_code == 200
        assert opened.content == JPEG
        assert opened.headers["Content-Type"] == "image/jpeg"
        assert opened.headers["Content-Disposition"].startswith('inline; filename="image-')
        assert agent_stored[0]["state"] == "stored"

    def test_a_file_whose_bytes_are_not_its_claimed_type_is_a_download(self, number, admin, media_bucket, fake_graph):
        html = b"<html><script>alert(1)</script></html>"
        message = image_message(fake_graph.add_media(html, "image/jpeg"))
        send_media(number, message)
        conversation_id, _ = self.conversation_of(admin, message["id"])
        copy(media_row(admin, message["id"]), media_bucket)

        attachment = self.attachments(number, conversation_id)[0][0]

        assert attachment["disposition"] == "attachment"
        opened = requests.get(attachment["url"], timeout=5)
        assert opened.headers["Content-Type"] == "application/octet-stream"
        assert opened.headers["Content-Disposition"].startswith("attachment;")

    def test_a_failed_medium_says_why(self, number, admin, media_bucket, fake_graph):
        message = image_message("13579")
        send_media(number, message)
        conversation_id, _ = self.conversation_of(admin, message["id"])
        copy(media_row(admin, message["id"]), media_bucket)

        attachment = self.attachments(number, conversation_id)[0][0]

        assert (attachment["state"], attachment["url"]) == ("failed", None)
        assert "does not know this media id" in attachment["failure_reason"]


class TestTheFrame:
    def test_subscribers_learn_the_url_from_the_updated_frame(
        self, number, admin, media_bucket, fake_graph, local_management
    ):
        import json

        from tests.support.realtime import subscribe

        message = image_message(fake_graph.add_media(JPEG, "image/jpeg"))
        send_media(number, message)
        row = media_row(admin, message["id"])
        server = local_management()
        connection_id = subscribe(admin, number.tenant_id, ("conversation", row["conversation_id"]))

        copy(row, media_bucket)

        posted = [json.loads(body) for to, body in server.posts if to == connection_id]
        frames = [frame for frame in posted if frame.get("event") == "updated"]
        assert len(frames) == 1
        frame = frames[0]
        assert frame["message"]["id"] == row["message_id"]
        attachment = frame["message"]["attachments"][0]
        assert attachment["state"] == "stored"
        assert requests.get(attachment["url"], timeout=5).content == JPEG
        assert frame["seq"] is not None


class TestTheSqsQueue:
    def test_jobs_reach_sqs_signed_with_the_standard_library(self, media_bucket, monkeypatch):
        """moto's server over real HTTP (the queue is the same code the webhook runs in AWS); boto3 reads them."""
        import json

        from threadline.delivery.media_queue import QUEUE_URL_VARIABLE, SqsMediaQueue, media_queue

        sqs = __import__("boto3").client(
            "sqs",
            endpoint_url=media_bucket.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        queue_url = sqs.create_queue(QueueName=f"media-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        monkeypatch.setenv(QUEUE_URL_VARIABLE, queue_url)
        queue = media_queue()
        assert isinstance(queue, SqsMediaQueue)
        tenant = uuid.uuid4()

        queue.send([MediaCopyJob(tenant, n) for n in range(12)])  # two batches

        received: list[dict[str, Any]] = []
        for _ in range(5):
            answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
            received += [json.loads(m["Body"]) for m in answer.get("Messages", [])]
        assert sorted(body["message_id"] for body in received) == list(range(12))
        assert {body["tenant_id"] for body in received} == {str(tenant)}
