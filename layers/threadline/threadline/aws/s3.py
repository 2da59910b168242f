"""The private media bucket with the standard library: a SigV4-signed PUT, and presigned GETs (and POSTs) that a
browser uses directly. No boto3: the message views sign a URL per attachment on every read, and importing botocore
costs a fresh container about 85 ms (threadline.aws.sigv4); the signatures are botocore's, byte for byte
(tests/unit/test_s3_presign.py compares them).

Where the bucket is: `MEDIA_BUCKET` in the region of `AWS_REGION`, at `https://<bucket>.s3.<region>.amazonaws.com`
(virtual-hosted style; `s3.amazonaws.com` in us-east-1). `MEDIA_S3_ENDPOINT_URL` points elsewhere (make dev's local S3, tests' moto server), with
path-style addressing (`<endpoint>/<bucket>/<key>`), as botocore does for a custom endpoint.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlsplit

from threadline.aws.sigv4 import ALGORITHM, AwsCredentials, current_credentials, sigv4_signature

SERVICE = "s3"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
TIMEOUT_SECONDS = 60.0
BUCKET_VARIABLE = "MEDIA_BUCKET"
ENDPOINT_VARIABLE = "MEDIA_S3_ENDPOINT_URL"


class S3Error(RuntimeError):
    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def _uri_encode(value: str, *, keep_slash: bool = False) -> str:
    """SigV4's URI encoding: everything but unreserved characters, once (S3 does not double-encode paths)."""
    return quote(value, safe="-_.~/" if keep_slash else "-_.~")


@dataclass(frozen=True)
class MediaBucket:
    name: str
    region: str
    endpoint_url: str | None = None  # a custom endpoint: path-style addressing

    @classmethod
    def from_environment(cls) -> MediaBucket | None:
        name = os.environ.get(BUCKET_VARIABLE)
        if not name:
            return None
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        return cls(name=name, region=region, endpoint_url=os.environ.get(ENDPOINT_VARIABLE) or None)

    # -- addressing ------------------------------------------------------------------------------------------------
    def _base(self) -> tuple[str, str, str]:
        """(scheme, host, path prefix) of the bucket."""
        if self.endpoint_url:
            parts = urlsplit(self.endpoint_url)
            return parts.scheme, parts.netloc, f"{parts.path.rstrip('/')}/{self.name}"
        # us-east-1's bucket host has no region in it (botocore's choice too, so the signatures stay comparable).
        regional = "" if self.region == "us-east-1" else f".{self.region}"
        return "https", f"{self.name}.s3{regional}.amazonaws.com", ""

    def _path(self, key: str) -> str:
        _, _, prefix = self._base()
        return _uri_encode(f"{prefix}/{key}", keep_slash=True)

    def object_url(self, key: str) -> str:
        scheme, host, _ = self._base()
        return f"{scheme}://{host}{self._path(key)}"

    # -- signing ---------------------------------------------------------------------------------------------------
    def _scope(self, date: str) -> str:
        return f"{date}/{self.region}/{SERVICE}/aws4_request"

    def _sign(self, credentials: AwsCredentials, stamp: str, canonical_request: str) -> str:
        text = "\n".join(
            [ALGORITHM, stamp, self._scope(stamp[:8]), hashlib.sha256(canonical_request.encode()).hexdigest()]
        )
        return sigv4_signature(credentials, date=stamp[:8], region=self.region, service=SERVICE, text=text)

    def presigned_get(
        self,
        key: str,
        *,
        expires_in: int,
        content_disposition: str | None = None,
        content_type: str | None = None,
        credentials: AwsCredentials | None = None,
        now: datetime | None = None,
    ) -> str:
        """A GET URL anyone holding it may open until it expires; S3 answers with the given Content-Disposition
        and Content-Type (response-content-* parameters, part of the signature, so they cannot be changed)."""
        credentials = credentials or current_credentials()
        stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
        _, host, _ = self._base()
        query: dict[str, str] = {
            "X-Amz-Algorithm": ALGORITHM,
            "X-Amz-Credential": f"{credentials.access_key_id}/{self._scope(stamp[:8])}",
            "X-Amz-Date": stamp,
            "X-Amz-Expires": str(expires_in),
            "X-Amz-SignedHeaders": "host",
        }
        if credentials.session_token:
            query["X-Amz-Security-Token"] = credentials.session_token
        if content_disposition is not None:
            query["response-content-disposition"] = content_disposition
        if content_type is not None:
            query["response-content-type"] = content_type
        canonical_query = "&".join(f"{_uri_encode(name)}={_uri_encode(value)}" for name, value in sorted(query.items()))
        path = self._path(key)
        canonical_request = "\n".join(["GET", path, canonical_query, f"host:{host}", "", "host", UNSIGNED_PAYLOAD])
        signature = self._sign(credentials, stamp, canonical_request)
        return f"{self.object_url(key)}?{canonical_query}&X-Amz-Signature={signature}"

    def presigned_post(
        self,
        key: str,
        *,
        expires_in: int,
        content_type: str,
        min_bytes: int,
        max_bytes: int,
        credentials: AwsCredentials | None = None,
        now: datetime | None = None,
    ) -> tuple[str, dict[str, str]]:
        """A browser upload form (POST policy, SigV4): the URL and the fields to send before the file. The policy
        pins the key and the Content-Type and bounds the size, so S3 itself refuses anything else."""
        credentials = credentials or current_credentials()
        moment = now or datetime.now(UTC)
        stamp = moment.strftime("%Y%m%dT%H%M%SZ")
        fields = {
            "key": key,
            "Content-Type": content_type,
            "x-amz-algorithm": ALGORITHM,
            "x-amz-credential": f"{credentials.access_key_id}/{self._scope(stamp[:8])}",
            "x-amz-date": stamp,
        }
        if credentials.session_token:
            fields["x-amz-security-token"] = credentials.session_token
        conditions: list[object] = [{"bucket": self.name}, *({name: value} for name, value in fields.items())]
        conditions.append(["content-length-range", min_bytes, max_bytes])
        expiration = (moment + timedelta(seconds=expires_in)).strftime("%Y-%m-%dT%H:%M:%SZ")
        policy = base64.b64encode(json.dumps({"expiration": expiration, "conditions": conditions}).encode()).decode()
        fields["policy"] = policy
        fields["x-amz-signature"] = sigv4_signature(
            credentials, date=stamp[:8], region=self.region, service=SERVICE, text=policy
        )
        scheme, host, prefix = self._base()
        return f"{scheme}://{host}{prefix or ''}/", fields

    # -- requests --------------------------------------------------------------------------------------------------
    def get_object(self, key: str, *, credentials: AwsCredentials | None = None) -> bytes:
        """One GET through a presigned URL of a minute (the same signing as the browsers'), read whole."""
        url = urlsplit(self.presigned_get(key, expires_in=60, credentials=credentials))
        return _exchange("GET", url.scheme, url.netloc, f"{url.path}?{url.query}")

    def put_object(
        self,
        key: str,
        body: bytes,
        *,
        content_type: str,
        sha256_hex: str,
        metadata: Mapping[str, str] | None = None,
        credentials: AwsCredentials | None = None,
    ) -> None:
        """One signed PUT. The payload's SHA-256 (already computed to check the provider's digest) is signed, so S3
        refuses a body that changed on the way. Putting the same key again overwrites it: a retried copy is safe."""
        credentials = credentials or current_credentials()
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        scheme, host, _ = self._base()
        path = self._path(key)
        headers = {
            "content-length": str(len(body)),
            "content-type": content_type,
            "host": host,
            "x-amz-content-sha256": sha256_hex,
            "x-amz-date": stamp,
            "x-amz-server-side-encryption": "AES256",
        }
        for name, value in (metadata or {}).items():
            headers[f"x-amz-meta-{name.lower()}"] = value
        if credentials.session_token:
            headers["x-amz-security-token"] = credentials.session_token
        signed = sorted(headers)
        canonical_request = "\n".join(
            ["PUT", path, "", *(f"{name}:{headers[name].strip()}" for name in signed), "", ";".join(signed), sha256_hex]
        )
        signature = self._sign(credentials, stamp, canonical_request)
        headers["authorization"] = (
            f"{ALGORITHM} Credential={credentials.access_key_id}/{self._scope(stamp[:8])}, "
            f"SignedHeaders={';'.join(signed)}, Signature={signature}"
        )
        _exchange("PUT", scheme, host, path, body=body, headers=headers)


def _exchange(
    method: str,
    scheme: str,
    host: str,
    target: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    """One request on a fresh connection; the answer's body, or S3Error for a failure or a non-2xx answer."""
    connection_type = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
    connection = connection_type(host, timeout=TIMEOUT_SECONDS)
    try:
        connection.request(method, target, body=body, headers=headers or {})
        response = connection.getresponse()
        answer = response.read()
    except OSError as error:
        raise S3Error(f"S3 {method} failed: {error}") from error
    finally:
        connection.close()
    if not 200 <= response.status < 300:
        raise S3Error(f"S3 {method} answered HTTP {response.status}: {answer[:200]!r}", status=response.status)
    return answer
