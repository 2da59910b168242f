"""The account's message templates: `GET /v1/templates` (docs/templates-api.md), and what a send must give each
template (its parameters), derived from the template's components when it is synced."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from threadline.models.query import MAX_CURSOR_CHARS, MAX_PAGE_SIZE, QueryModel, UtcDatetime

TemplateHeaderFormat = Literal["text", "image", "video", "document", "location"]


class TemplateListQuery(QueryModel):
    status: Annotated[str, StringConstraints(pattern=r"^[A-Za-z_]{1,64}$")] | None = Field(
        default=None, description="APPROVED, PENDING, REJECTED, PAUSED, DISABLED, ... (any case)"
    )
    name: Annotated[str, StringConstraints(min_length=1, max_length=512, pattern=r"^[^\x00]*$")] | None = None
    language: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2,3}(_[A-Za-z]{2,4})?$")] | None = None
    connection_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,200}$")] | None = Field(
        default=None, description="only the templates of this connection's WhatsApp Business Account"
    )
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE)] = MAX_PAGE_SIZE
    cursor: Annotated[str, Field(min_length=1, max_length=MAX_CURSOR_CHARS)] | None = Field(
        default=None, description="next_cursor of the previous page"
    )


TEMPLATE_QUERY_EXPLANATIONS = {
    "status": "status must be a template status such as APPROVED",
    "name": "name must be 1 to 512 characters, without NUL",
    "language": "language must be a language code such as en or en_US",
    "connection_id": "connection_id must be a connection id (letters, digits, '_', '.', ':' or '-')",
    "limit": f"limit must be an integer between 1 and {MAX_PAGE_SIZE}",
    "cursor": "cursor is not valid; use next_cursor from the previous page",
}


class TemplateParameter(BaseModel):
    name: str = Field(description='the variable: "1", "2", ... (positional) or its name (named format)')
    example: str | None = Field(description="Meta's example value, when the template has one")


class HeaderParameter(BaseModel):
    format: TemplateHeaderFormat = Field(
        description="text: the parameters below; image, video, document: one parameter of that type (a link or"
        " a media id); location: one location parameter"
    )
    parameters: list[TemplateParameter] = Field(description="the text header's variables; [] for media")


class ButtonParameter(BaseModel):
    index: int = Field(description="the button's position, as the send's `index`")
    sub_type: str = Field(description="the send component's sub_type: url, copy_code, ...")
    parameter_type: str = Field(description="the parameter's type: text (a URL suffix, a code) or coupon_code")
    example: str | None


class TemplateParameters(BaseModel):
    """What a send of this template must give, component by component (empty: none)."""

    header: HeaderParameter | None
    body: list[TemplateParameter]
    buttons: list[ButtonParameter]


class TemplateView(BaseModel):
    id: str = Field(description="Threadline's id of the template")
    waba_id: str = Field(description="the WhatsApp Business Account it belongs to")
    template_id: str | None = Field(description="Meta's id of the template")
    name: str
    language: str
    status: str = Field(description="Meta's status: APPROVED, PENDING, REJECTED, PAUSED, DISABLED, ...")
    category: str | None = Field(description="MARKETING, UTILITY or AUTHENTICATION")
    quality: str | None = Field(description="Meta's quality score: GREEN, YELLOW, RED or UNKNOWN")
    parameter_format: Literal["positional", "named"]
    components: list[dict[str, Any]] = Field(description="the template's components as Meta describes them")
    parameters: TemplateParameters
    last_event: str | None = Field(description="what the latest template webhook said happened (not always a status)")
    synced_at: UtcDatetime | None
    updated_at: UtcDatetime


class TemplateList(BaseModel):
    templates: list[TemplateView] = Field(description="by name, then language")
    next_cursor: str | None = Field(description="pass as cursor for the next page; null on the last page")


class TemplateSyncResult(BaseModel):
    waba_id: str
    templates: int = Field(description="templates Meta lists now")
    removed: int = Field(description="templates Meta no longer lists, removed")
