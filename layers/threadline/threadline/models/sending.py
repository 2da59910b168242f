"""Requests and responses of the send routes.

`POST /api/messages/send` (docs/send-message-api.md): `{recipient, body}` -> `{success, message, meta_id}`.
`POST /api/v1/conversations/{id}/messages` (docs/conversations-api.md): `{content, media?,
reply_to?}` or `{template: {name, language, components}}`, answered in the same shape.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from threadline.models.validation import ModelT, NulFreeText, parse_json_body, reject_nul
from threadline.vocabulary import MediaType

# Meta's limits: 4,096 characters of text, 1,024 of a media caption.
MAX_TEXT_CHARS = 4_096
MAX_CAPTION_CHARS = 1_024
MAX_URL_CHARS = 2_048
MAX_BODY_BYTES = 256_000


def _http_url(value: str) -> str:
    if not value.startswith(("https://", "http://")):
        raise ValueError("must be an http(s) URL Meta can fetch")
    return value


def _not_blank(value: str) -> str:
    # Meta refuses a text of only whitespace; refusing it here keeps that a 400 with nothing written.
    if value and not value.strip():
        raise ValueError("must not be blank")
    return value


Text = NulFreeText
MessageText = Annotated[Text, Field(min_length=1, max_length=MAX_TEXT_CHARS), AfterValidator(_not_blank)]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=512), AfterValidator(reject_nul)
]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="forbid")


class SendRequest(_Strict):
    recipient: Annotated[Name, StringConstraints(max_length=256)]
    body: MessageText


class MediaAttachment(_Strict):
    """A link (`type` and `url`: Meta, or the connector, fetches it) or an agent's upload (`upload_id` from
    `POST /v1/uploads`: its type and file name are the upload's)."""

    # First, so that the link's fields know whether they are required (validated in declaration order).
    upload_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    type: Annotated[MediaType | None, Field(validate_default=True)] = None
    url: Annotated[
        Annotated[Text, Field(max_length=MAX_URL_CHARS), AfterValidator(_http_url)] | None,
        Field(validate_default=True),
    ] = None
    caption: Annotated[Text, Field(max_length=MAX_CAPTION_CHARS)] | None = None
    filename: Annotated[Name, StringConstraints(max_length=240)] | None = None

    @field_validator("type", "url")
    @classmethod
    def _required_for_a_link(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.data.get("upload_id") is None:
            raise PydanticCustomError("missing", "Field required")
        return value

    @model_validator(mode="after")
    def _a_link_or_an_upload(self) -> MediaAttachment:
        if self.upload_id is not None:
            if self.url is not None or self.type is not None or self.filename is not None:
                raise ValueError("upload_id cannot be combined with type, url or filename (they are the upload's)")
            return self
        # Meta's link messages take `filename` for documents only; for the others it refuses the request.
        if self.filename is not None and self.type != "document":
            raise ValueError(f"filename is only for document media, not {self.type}")
        return self


class TemplateMessage(_Strict):
    name: Name
    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(_[A-Za-z]{2,4})?$")]
    components: Annotated[list[dict[str, Any]], Field(max_length=20)] = Field(default_factory=list)


class ConversationSendRequest(_Strict):
    content: Annotated[Text, Field(max_length=MAX_TEXT_CHARS), AfterValidator(_not_blank)] | None = None
    media: MediaAttachment | None = None
    template: TemplateMessage | None = None
    # The message replied to: Threadline's message id or a WhatsApp message id (wamid).
    reply_to: Name | None = None

    @model_validator(mode="after")
    def _one_kind_of_message(self) -> ConversationSendRequest:
        if self.template is not None and (self.media is not None or self.content):
            raise ValueError("template cannot be combined with content or media")
        if self.template is None and self.media is None and not self.content:
            raise ValueError("content is required (or media, or template)")
        if self.media is not None and self.media.type == "audio" and (self.media.caption or self.content):
            raise ValueError("audio messages cannot carry a caption")
        if self.media is not None and self.content and len(self.content) > MAX_CAPTION_CHARS:
            raise ValueError(f"content used as a media caption must be at most {MAX_CAPTION_CHARS} characters")
        return self


class MessageError(BaseModel):
    code: int | None
    title: str | None


class OutboundMessageView(BaseModel):
    id: int
    conversation_id: int
    contact_id: str
    direction: Literal["outbound"] = "outbound"
    type: str
    content: str
    media_url: str | None
    status: str
    source: str
    meta_id: str | None
    reply_to: str | None
    sent_at: datetime
    created_at: datetime
    error: MessageError | None = None


class SendResponse(BaseModel):
    success: bool = True
    message: OutboundMessageView
    meta_id: str | None
    # Set when Meta accepted the message but Threadline could not yet record that (it will, from Meta's status
    # webhook): the message was sent, do not send it again. The seed's `{success, message, meta_id}` carries it
    # only when there is one.
    warning: str | None = Field(default=None, exclude_if=lambda warning: warning is None)


def parse_body(model: type[ModelT], body: str | bytes | None) -> ModelT:
    """Validate a JSON request body into `model`, raising InvalidRequest with a sentence a developer can act on."""
    return parse_json_body(
        model,
        body,
        max_bytes=MAX_BODY_BYTES,
        empty_message="Request body is required",
        too_large_message=f"Request body too large: at most {MAX_BODY_BYTES} bytes",
    )
