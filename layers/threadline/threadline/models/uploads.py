"""Agents' uploads: `POST /v1/uploads` (also `/api/v1/uploads`, docs/media.md#sending-a-file-an-agent-uploads).

`{filename, mime_type, size}` -> 201 `{upload_id, media_type, max_bytes, expires_at, upload: {url, fields}}`: the
browser POSTs the file straight to S3 with `fields` first and the file last (a presigned POST whose policy pins the
key and the Content-Type and bounds the size to the WhatsApp medium's limit, so S3 itself refuses anything else),
then sends it with `{media: {upload_id, caption?}}`.

What WhatsApp takes, by MIME type (Meta's supported media: images 5 MB, audio and video 16 MB, documents 100 MB;
audio/ogg only with the Opus codec, which a voice note is). Stickers (image/webp, 100/500 KB) are not sent yet.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from threadline.models.validation import reject_nul

UploadMediaType = Literal["image", "audio", "video", "document"]
MB = 1024 * 1024

# mime type -> (WhatsApp medium, largest file Meta takes)
WHATSAPP_MEDIA_LIMITS: dict[str, tuple[UploadMediaType, int]] = {
    "image/jpeg": ("image", 5 * MB),
    "image/png": ("image", 5 * MB),
    "video/mp4": ("video", 16 * MB),
    "video/3gpp": ("video", 16 * MB),
    "audio/aac": ("audio", 16 * MB),
    "audio/amr": ("audio", 16 * MB),
    "audio/mpeg": ("audio", 16 * MB),
    "audio/mp4": ("audio", 16 * MB),
    "audio/ogg": ("audio", 16 * MB),
    "text/plain": ("document", 100 * MB),
    "application/pdf": ("document", 100 * MB),
    "application/msword": ("document", 100 * MB),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ("document", 100 * MB),
    "application/vnd.ms-excel": ("document", 100 * MB),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ("document", 100 * MB),
    "application/vnd.ms-powerpoint": ("document", 100 * MB),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ("document", 100 * MB),
}
MAX_UPLOAD_BYTES = max(limit for _, limit in WHATSAPP_MEDIA_LIMITS.values())
# A voice note reaches Meta as this type (Meta takes audio/ogg only with the Opus codec).
VOICE_NOTE_TYPE = "audio/ogg; codecs=opus"


def upload_mime_type(value: str) -> str:
    """`audio/ogg; codecs=opus` -> `audio/ogg`: the parameters are WhatsApp's business, the key is the type."""
    return value.split(";", 1)[0].strip().lower()


def _known_type(value: str) -> str:
    if upload_mime_type(value) not in WHATSAPP_MEDIA_LIMITS:
        raise ValueError("is not a type WhatsApp takes (" + ", ".join(sorted(WHATSAPP_MEDIA_LIMITS)) + ")")
    return value


class UploadRequest(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="forbid")

    filename: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=240), AfterValidator(reject_nul)
    ]
    mime_type: Annotated[str, StringConstraints(min_length=3, max_length=100), AfterValidator(_known_type)]
    size: Annotated[int, Field(ge=1, le=MAX_UPLOAD_BYTES, description="bytes")]

    @model_validator(mode="after")
    def _within_the_mediums_limit(self) -> UploadRequest:
        medium, limit = WHATSAPP_MEDIA_LIMITS[upload_mime_type(self.mime_type)]
        if self.size > limit:
            raise ValueError(f"a WhatsApp {medium} is at most {limit} bytes ({self.mime_type})")
        return self


class UploadForm(BaseModel):
    url: str = Field(description="POST the form here: `fields` first, then the file as the last part, named `file`")
    fields: dict[str, str]


class UploadResponse(BaseModel):
    upload_id: str = Field(description="send it with {media: {upload_id, caption?}}")
    media_type: UploadMediaType
    mime_type: str
    max_bytes: int = Field(description="the largest file the form's policy lets S3 take")
    expires_at: datetime = Field(description="the form works until then; the upload can be sent for 24 hours")
    upload: UploadForm
