"""Reading a JSON secret from AWS Secrets Manager with the standard library: one signed `GetSecretValue` call.

Why not boto3 (or Powertools Parameters, which wraps it): the WhatsApp webhook reads Meta's app secret on its first
request, and through Parameters that request imported boto3 and built a Secrets Manager client before sending
anything, about 115 ms of a fresh container's first answer (`make bench-coldstart`). The call itself is one HTTPS
POST of a small JSON document, signed with SigV4 exactly as botocore signs it (tests/unit/test_secrets_manager.py
compares the two signatures byte for byte), with the credentials Lambda puts in the environment.

Why not the AWS Parameters and Secrets Lambda Extension (localhost:2773): it is one more layer to pin per region and
architecture, it runs as a separate process in every container (its own init time and memory), and it caches with
its own TTL, which would sit beside ours; the signed call needs nothing deployed.

Values are cached per secret for `max_age_seconds` (a rotated secret reaches warm containers without a redeploy);
`clear_secret_cache()` forgets them (SnapStart restores, tests). Secret values are never logged.
"""

from __future__ import annotations

import http.client
import json
import os
import time
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from threadline.aws.sigv4 import AwsCredentials, current_credentials, signed_json_headers

SERVICE = "secretsmanager"
_TARGET = "secretsmanager.GetSecretValue"
_CONTENT_TYPE = "application/x-amz-json-1.1"
TIMEOUT_SECONDS = 5.0

_cache: dict[str, tuple[float, Any]] = {}


class SecretUnavailable(RuntimeError):
    """Secrets Manager could not be reached, refused the call, or the secret is not a JSON document."""


def clear_secret_cache() -> None:
    _cache.clear()


def get_json_secret(secret_id: str, *, max_age_seconds: float) -> Any:
    """The secret's SecretString parsed as JSON, read at most once per `max_age_seconds`."""
    cached = _cache.get(secret_id)
    if cached is not None and time.monotonic() - cached[0] < max_age_seconds:
        return cached[1]
    region = _region_of(secret_id)
    value = _get_secret_value(secret_id, region=region, endpoint=_endpoint(region), credentials=current_credentials())
    try:
        parsed = json.loads(value)
    except ValueError as error:
        raise SecretUnavailable(f"secret {secret_id} is not a JSON document") from error
    _cache[secret_id] = (time.monotonic(), parsed)
    return parsed


def _region_of(secret_id: str) -> str:
    # arn:aws:secretsmanager:<region>:<account>:secret:<name>: the secret lives in the ARN's region.
    parts = secret_id.split(":")
    if secret_id.startswith("arn:") and len(parts) > 3 and parts[3]:
        return parts[3]
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise SecretUnavailable("no AWS region to read the secret from (set AWS_REGION)")
    return region


def _endpoint(region: str) -> str:
    """The endpoint botocore would use: its service-specific and global overrides first (moto, local stacks)."""
    return (
        os.environ.get("AWS_ENDPOINT_URL_SECRETS_MANAGER")
        or os.environ.get("AWS_ENDPOINT_URL")
        or f"https://secretsmanager.{region}.amazonaws.com"
    )


def signed_request_headers(
    *, url: str, body: bytes, region: str, credentials: AwsCredentials, now: datetime | None = None
) -> dict[str, str]:
    """The headers of a signed Secrets Manager JSON call to `url` carrying `body` (SigV4, every header signed)."""
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


def _get_secret_value(secret_id: str, *, region: str, endpoint: str, credentials: AwsCredentials) -> str:
    url = endpoint.rstrip("/") + "/"
    body = json.dumps({"SecretId": secret_id}).encode()
    headers = signed_request_headers(url=url, body=body, region=region, credentials=credentials)
    parts = urlsplit(url)
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(parts.netloc, timeout=TIMEOUT_SECONDS)
    try:
        connection.request("POST", parts.path, body=body, headers=headers)
        response = connection.getresponse()
        payload = response.read()
    except OSError as error:  # refused, reset, timed out, TLS failure
        raise SecretUnavailable(f"Secrets Manager unreachable: {type(error).__name__}") from error
    finally:
        connection.close()
    try:
        answer = json.loads(payload or b"{}")
    except ValueError:
        answer = {}
    if response.status != 200:
        # AWS's JSON errors name their type (`__type`) and a message: neither carries the secret's value.
        kind = str(answer.get("__type", "")).rsplit("#", 1)[-1] if isinstance(answer, dict) else ""
        raise SecretUnavailable(f"Secrets Manager answered {response.status} {kind}".rstrip())
    value = answer.get("SecretString") if isinstance(answer, dict) else None
    if not isinstance(value, str):
        raise SecretUnavailable(f"secret {secret_id} has no SecretString")
    return value
