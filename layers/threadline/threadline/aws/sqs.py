"""SQS's SendMessageBatch with the standard library: one SigV4-signed POST in the AWS JSON 1.0 protocol.

Why not boto3: the WhatsApp webhook hands a copy job to the media queue while Meta's request is still open (after
its commit, before its 200), and a fresh container that imported boto3 and built an SQS client there paid well over
100 ms for its first media message (botocore's import alone is about 85 ms, threadline.aws.sigv4). The call is one
small JSON document; the signature is botocore's (tests/integration/test_media_copy.py sends through moto's
server and reads the messages back with boto3).

The endpoint is the queue URL's own host (`https://sqs.<region>.amazonaws.com/<account>/<name>`); a queue URL on
another host (an emulator) is posted to as it is, in the environment's region.
"""

from __future__ import annotations

import http.client
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from threadline.aws.sigv4 import AwsCredentials, current_credentials, signed_json_headers

SERVICE = "sqs"
TIMEOUT_SECONDS = 3.0
_CONTENT_TYPE = "application/x-amz-json-1.0"
_TARGET = "AmazonSQS.SendMessageBatch"


class SqsError(RuntimeError):
    pass


@dataclass(frozen=True)
class BatchEntry:
    id: str
    body: str
    delay_seconds: int = 0


def region_of(queue_url: str) -> str:
    host = urlsplit(queue_url).hostname or ""
    parts = host.split(".")
    if len(parts) > 2 and parts[0] == "sqs":
        return parts[1]
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def _signed_headers(
    *, url: str, body: bytes, region: str, credentials: AwsCredentials, now: datetime | None = None
) -> dict[str, str]:
    return signed_json_headers(
        url=url,
        body=body,
        region=region,
        service=SERVICE,
        target=_TARGET,
        content_type=_CONTENT_TYPE,
        credentials=credentials,
        now=now,
    )


def send_message_batch(
    queue_url: str, entries: Sequence[BatchEntry], *, credentials: AwsCredentials | None = None
) -> None:
    """Up to ten messages in one call; raises SqsError when SQS refuses the call or any entry."""
    if not entries:
        return
    if len(entries) > 10:
        raise ValueError("SendMessageBatch takes ten entries at most")
    parts = urlsplit(queue_url)
    endpoint = f"{parts.scheme}://{parts.netloc}/"
    body = json.dumps(
        {
            "QueueUrl": queue_url,
            "Entries": [
                {"Id": entry.id, "MessageBody": entry.body, "DelaySeconds": entry.delay_seconds} for entry in entries
            ],
        }
    ).encode()
    headers = _signed_headers(
        url=endpoint, body=body, region=region_of(queue_url), credentials=credentials or current_credentials()
    )
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(parts.netloc, timeout=TIMEOUT_SECONDS)
    try:
        connection.request("POST", "/", body=body, headers=headers)
        response = connection.getresponse()
        payload = response.read()
    except OSError as error:
        raise SqsError(f"SQS unreachable: {type(error).__name__}") from error
    finally:
        connection.close()
    try:
        answer = json.loads(payload or b"{}")
    except ValueError:
        answer = {}
    if response.status != 200:
        kind = str(answer.get("__type", "")).rsplit("#", 1)[-1] if isinstance(answer, dict) else ""
        raise SqsError(f"SQS answered {response.status} {kind}".rstrip())
    failed = answer.get("Failed") if isinstance(answer, dict) else None
    if failed:
        raise SqsError(f"SQS refused {len(failed)} of {len(entries)} messages")
