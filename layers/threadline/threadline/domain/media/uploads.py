"""Agents' uploads: a presigned S3 POST for a file the agent declared, and reading it back when it is sent.

The form's policy (signed with the standard library, threadline.aws.s3) pins the object's key
(`uploads/<tenant>/<upload id>`), its Content-Type, and the size range of the declared WhatsApp medium (Meta's
limits, threadline.models.uploads), so S3 refuses any other file; the row written here remembers what was declared.
A send `{media: {upload_id}}` reads the object back (it must exist, fit the limit, and for a voice note be Ogg/Opus)
before any channel sees it.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from threadline.aws.s3 import MediaBucket, S3Error
from threadline.caller import Caller
from threadline.db.repositories.media import UploadRow, find_upload, insert_upload, record_uploaded_media
from threadline.db.tenancy import run_in_transaction
from threadline.domain.media.attachments import content_disposition
from threadline.domain.media.sniff import detect_mime_type
from threadline.errors import InvalidRequest, ThreadlineError
from threadline.models.uploads import (
    WHATSAPP_MEDIA_LIMITS,
    UploadForm,
    UploadRequest,
    UploadResponse,
    upload_mime_type,
)

FORM_TTL = timedelta(minutes=15)
SENDABLE_FOR = timedelta(hours=24)
UNKNOWN_UPLOAD = "media.upload_id names no upload of this tenant"


def media_bucket() -> MediaBucket:
    bucket = MediaBucket.from_environment()
    if bucket is None:
        raise ThreadlineError("Internal server error", details="MEDIA_BUCKET is not configured")
    return bucket


def create_upload(caller: Caller, request: UploadRequest, *, now: datetime | None = None) -> UploadResponse:
    moment = now or datetime.now(UTC)
    bucket = media_bucket()
    mime_type = upload_mime_type(request.mime_type)
    medium, limit = WHATSAPP_MEDIA_LIMITS[mime_type]
    upload_id = uuid.uuid4()
    row = UploadRow(
        id=upload_id,
        tenant_id=caller.tenant_id,
        uploaded_by=caller.user_id,
        file_name=request.filename,
        mime_type=mime_type,
        media_type=medium,
        size_bytes=request.size,
        s3_key=f"uploads/{caller.tenant_id}/{upload_id}",
        created_at=moment,
        expires_at=moment + SENDABLE_FOR,
    )
    run_in_transaction(lambda conn: insert_upload(conn, row), tenant_id=caller.tenant_id)
    url, fields = bucket.presigned_post(
        row.s3_key,
        expires_in=int(FORM_TTL.total_seconds()),
        content_type=mime_type,
        min_bytes=1,
        max_bytes=limit,
        now=moment,
    )
    return UploadResponse(
        upload_id=str(upload_id),
        media_type=medium,
        mime_type=mime_type,
        max_bytes=limit,
        expires_at=moment.replace(microsecond=0) + FORM_TTL,
        upload=UploadForm(url=url, fields=fields),
    )


@dataclass(frozen=True)
class UploadedFile:
    """An upload read back for sending: its bytes, checked."""

    upload: UploadRow
    content: bytes
    sha256: str
    detected_mime_type: str | None


def find_sendable_upload(conn_tenant: UUID, upload_id: str, *, now: datetime | None = None) -> UploadRow:
    try:
        parsed = UUID(upload_id)
    except ValueError:
        raise InvalidRequest(UNKNOWN_UPLOAD) from None
    row = run_in_transaction(lambda conn: find_upload(conn, parsed), tenant_id=conn_tenant)
    if row is None:
        raise InvalidRequest(UNKNOWN_UPLOAD)
    if row.expires_at <= (now or datetime.now(UTC)):
        raise InvalidRequest("media.upload_id has expired: upload the file again")
    return row


def read_upload(upload: UploadRow) -> UploadedFile:
    """The uploaded object, checked before any channel sees it: present, within the medium's limit, and (audio/ogg)
    an Ogg Opus stream, as WhatsApp requires of a voice note."""
    try:
        content = media_bucket().get_object(upload.s3_key)
    except S3Error as error:
        if error.status in (403, 404):
            raise InvalidRequest("media.upload_id: the file was never uploaded (POST it to the upload form)") from None
        raise
    _, limit = WHATSAPP_MEDIA_LIMITS[upload.mime_type]
    if not 0 < len(content) <= limit:
        raise InvalidRequest(
            f"media.upload_id: the file is {len(content)} bytes; a {upload.media_type} takes 1-{limit}"
        )
    detected = detect_mime_type(content)
    if upload.mime_type == "audio/ogg" and (detected != "audio/ogg" or b"OpusHead" not in content[:512]):
        raise InvalidRequest("media.upload_id: audio/ogg must be an Ogg Opus stream (a WhatsApp voice note)")
    return UploadedFile(upload, content, hashlib.sha256(content).hexdigest(), detected)


# A connector fetches an upload from this link (in its message.outbound delivery); it is signed with the sending
# function's credentials, which bound it too (a Lambda role's session lasts hours, not days).
CONNECTOR_LINK_SECONDS = 3600


def uploaded_file_link(uploaded: UploadedFile) -> str:
    upload = uploaded.upload
    return media_bucket().presigned_get(
        upload.s3_key,
        expires_in=CONNECTOR_LINK_SECONDS,
        content_disposition=content_disposition("attachment", upload.file_name),
        content_type=upload.mime_type,
    )


def keep_uploaded_file(tenant_id: UUID, message_id: int, uploaded: UploadedFile) -> None:
    run_in_transaction(
        lambda conn: record_uploaded_media(
            conn,
            message_id=message_id,
            upload=uploaded.upload,
            detected_mime_type=uploaded.detected_mime_type,
            sha256=uploaded.sha256,
        ),
        tenant_id=tenant_id,
    )
