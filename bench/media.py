"""Media kept: the copy pipeline's throughput and what media cost the webhook, each beside a baseline from the same run.

1. Copies/s: inbound image messages posted through the real WhatsAppWebhookFunction handler, then their copy jobs
   run through the real pipeline (threadline.domain.media.worker.run_copy_jobs: the row read under RLS, GET
   /{media-id} and the download from the fake Graph API with the token, the sha256/file_size check, the signed PUT
   to moto's S3 server, the compare-and-set that appends message.updated, the frame publish), beside a bare loop in
   the same run doing only the network part: GET metadata, GET the file, PUT it, over the same clients. Target: the
   pipeline reaches at least 0.7x the bare loop.
2. The webhook's latency: notifications with one text message and with one image message, interleaved, through
   the real handler: p50/p99 of each. The copy happens after the 200; what a media message adds inside the request
   is one INSERT of its pending row and an in-process enqueue (SQS in AWS). Target: p99 at most 1 ms higher.

Run: `make bench-media` (or `.venv/bin/python -m bench.media`). Prints figures; asserts nothing about timings.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from contextlib import redirect_stdout
from typing import Any

import psycopg

from bench.common import percentile, print_header, print_ratio, print_table, ratio, throwaway_database

COPIES = int(os.environ.get("BENCH_MEDIA_COPIES", "300"))
FILE_BYTES = int(os.environ.get("BENCH_MEDIA_FILE_BYTES", str(64 * 1024)))
LATENCY_SAMPLES = int(os.environ.get("BENCH_MEDIA_LATENCY_SAMPLES", "400"))
ROUNDS = 3


def _quiet(work: Any) -> Any:
    with open(os.devnull, "w") as devnull, redirect_stdout(devnull):
        return work()


def _notification(phone_number_id: str, message: dict[str, Any]) -> dict[str, Any]:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": phone_number_id},
        "contacts": [{"profile": {"name": "Bench Customer"}, "wa_id": message["from"]}],
        "messages": [message],
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"value": value, "field": "messages"}]}],
    }


def _message(sender: str, kind: str, media_id: str | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"from": sender, "id": f"wamid.{uuid.uuid4().hex}", "timestamp": str(int(time.time()))}
    if kind == "text":
        return message | {"type": "text", "text": {"body": "Hello there"}}
    return message | {"type": "image", "image": {"id": media_id, "mime_type": "image/jpeg", "caption": "Look"}}


class _Webhook:
    """Posts signed notifications to the real handler, in-process, with API Gateway's v2.0 event."""

    def __init__(self, app_secret: str) -> None:
        from devtools.lambda_runtime import LocalLambdaContext, load_handler
        from devtools.template import load_template
        from threadline.meta.webhook import signature_for

        self._handler = load_handler(load_template().functions["WhatsAppWebhookFunction"])
        self._context = LocalLambdaContext(function_name="WhatsAppWebhookFunction")
        self._sign = signature_for
        self._secret = app_secret
        with open("events/whatsapp-webhook-message.json") as sample:
            self._template = json.load(sample)

    def post(self, notification: dict[str, Any]) -> float:
        body = json.dumps(notification)
        event = json.loads(json.dumps(self._template))
        event["headers"]["x-hub-signature-256"] = self._sign(body.encode(), self._secret)
        event["body"], event["isBase64Encoded"] = body, False
        started = time.perf_counter()
        answer = _quiet(lambda: self._handler(event, self._context))
        elapsed = time.perf_counter() - started
        assert answer["statusCode"] == 200, answer
        return elapsed


class _Queue:
    def __init__(self) -> None:
        self.jobs: list[Any] = []

    def send(self, jobs: Any, *, delay_seconds: int = 0) -> None:
        self.jobs.extend(jobs)


def _bare_loop(graph_url: str, token: str, media_ids: list[str], bucket: Any) -> float:
    """The floor: the same three requests per file with the same clients, nothing else (no database, no check)."""
    import requests

    session = requests.Session()
    headers = {"Authorization": f"Bearer {token}"}
    started = time.perf_counter()
    for media_id in media_ids:
        info = session.get(f"{graph_url}/v24.0/{media_id}", headers=headers, timeout=10).json()
        content = session.get(info["url"], headers=headers, timeout=10).content
        bucket.put_object(
            f"bare/{media_id}",
            content,
            content_type=info["mime_type"],
            sha256_hex=hashlib.sha256(content).hexdigest(),
        )
    return time.perf_counter() - started


def bench_copies(admin: psycopg.Connection[Any], webhook: _Webhook, fake: Any, phone_number_id: str) -> dict[str, Any]:
    from threadline.aws.s3 import MediaBucket
    from threadline.delivery.media_queue import register_local_media_queue
    from threadline.domain.media.worker import run_copy_jobs

    bucket = MediaBucket.from_environment()
    assert bucket is not None
    pipeline_rates: list[float] = []
    bare_rates: list[float] = []
    for round_number in range(ROUNDS):
        files = [os.urandom(FILE_BYTES) for _ in range(COPIES)]
        media_ids = [fake.add_media(b"\xff\xd8\xff\xe0" + content, "image/jpeg") for content in files]
        bare_ids = [fake.add_media(b"\xff\xd8\xff\xe0" + content, "image/jpeg") for content in files]
        queue = _Queue()
        register_local_media_queue(queue)
        for n, media_id in enumerate(media_ids):
            webhook.post(_notification(phone_number_id, _message(f"1650{round_number:02d}{n:06d}", "image", media_id)))
        assert len(queue.jobs) == COPIES
        started = time.perf_counter()
        outcome = _quiet(lambda queue=queue: run_copy_jobs(queue.jobs, bucket=bucket))
        pipeline_seconds = time.perf_counter() - started
        assert [o.state for o in outcome.outcomes] == ["stored"] * COPIES, outcome
        bare_seconds = _bare_loop(fake.base_url, os.environ["META_ACCESS_TOKEN"], bare_ids, bucket)
        pipeline_rates.append(COPIES / pipeline_seconds)
        bare_rates.append(COPIES / bare_seconds)
    register_local_media_queue(None)
    return {"pipeline": max(pipeline_rates), "bare": max(bare_rates)}


def bench_webhook_latency(webhook: _Webhook, fake: Any, phone_number_id: str) -> dict[str, list[float]]:
    from threadline.delivery.media_queue import register_local_media_queue

    queue = _Queue()
    register_local_media_queue(queue)  # as make dev: an in-process queue (in AWS, one SQS SendMessageBatch)
    media_id = fake.add_media(b"\xff\xd8\xff\xe0" + os.urandom(1024), "image/jpeg")
    samples: dict[str, list[float]] = {"text": [], "media": []}
    for n in range(LATENCY_SAMPLES + 20):  # the first 20 pairs warm up the handler and the connection
        for kind in ("text", "media"):
            sender = f"1999{n:07d}"
            elapsed = webhook.post(_notification(phone_number_id, _message(sender, kind, media_id)))
            if n >= 20:
                samples[kind].append(elapsed * 1000)
    register_local_media_queue(None)
    return samples


def main() -> None:
    from devtools.fake_graph import FakeGraphApi
    from devtools.local_s3 import LOCAL_AWS_CREDENTIALS, start_local_s3

    print_header("make bench-media: media kept")
    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"  # one INFO line per notification would be measured too
    with throwaway_database() as url, FakeGraphApi() as fake:
        s3 = start_local_s3()
        os.environ.update(s3.environment())
        os.environ.update(LOCAL_AWS_CREDENTIALS)
        app_secret = "bench-app-secret"
        os.environ.update(
            {
                "META_GRAPH_URL": fake.base_url,
                "META_API_VERSION": "v24.0",
                "META_ACCESS_TOKEN": "bench-token",
                "META_APP_SECRET": app_secret,
            }
        )
        for name in ("META_SECRET_ARN", "MEDIA_COPY_QUEUE_URL", "WEBSOCKET_MANAGEMENT_URL"):
            os.environ.pop(name, None)
        from threadline.db.repositories.tenants import insert_tenant
        from threadline.domain.intake.connections import create_connection
        from threadline.meta.client import reset_meta_client

        reset_meta_client()
        phone_number_id = "106540352242922"
        with psycopg.connect(url, autocommit=True) as admin:
            tenant = insert_tenant(admin, "bench-media").id
            create_connection(admin, tenant_id=tenant, platform="whatsapp", phone_number_id=phone_number_id)
            webhook = _Webhook(app_secret)
            latency = bench_webhook_latency(webhook, fake, phone_number_id)
            copies = bench_copies(admin, webhook, fake, phone_number_id)
        s3.stop()

    print(f"\n1. Copies/s, {COPIES} files of {FILE_BYTES // 1024} KB, best of {ROUNDS} rounds (same run)")
    print_table(
        ["path", "copies/s"],
        [
            ["pipeline (DB, Graph GET x2, sha256 check, S3 PUT, stored + event + frame)", copies["pipeline"]],
            ["bare loop (Graph GET x2, S3 PUT)", copies["bare"]],
        ],
    )
    share = ratio(copies["pipeline"], copies["bare"])
    print_ratio("pipeline / bare loop", share, target=">= 0.7", met=share >= 0.7)

    print(f"\n2. Webhook latency through the handler, {LATENCY_SAMPLES} notifications of each kind, interleaved")
    rows = [[kind, percentile(values, 50), percentile(values, 99)] for kind, values in latency.items()]
    print_table(["one message of type", "p50 ms", "p99 ms"], rows)
    added = percentile(latency["media"], 99) - percentile(latency["text"], 99)
    print(f"media p99 - text p99: {added:+.2f} ms  (target <= +1 ms: {'met' if added <= 1 else 'MISSED'})")
    added50 = percentile(latency["media"], 50) - percentile(latency["text"], 50)
    print(f"media p50 - text p50: {added50:+.2f} ms")


if __name__ == "__main__":
    main()
