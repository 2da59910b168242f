"""A WhatsApp Business Account's message templates, read from Meta: `GET /{waba-id}/message_templates`, every page.

Meta answers `{"data": [...], "paging": {"cursors": {"before", "after"}, "next": "<url>"}}`; `next` is present while
more pages follow. The next page is asked for with `after=<cursor>` on our own Graph URL rather than by following
`next` itself, so the access token only ever travels to the configured Graph host. Each template: `id`, `name`,
`language`, `status` (APPROVED, PENDING, REJECTED, PAUSED, DISABLED, ...), `category`, `quality_score.score`
(GREEN, YELLOW, RED, UNKNOWN), `parameter_format` (POSITIONAL or NAMED) and `components` (HEADER, BODY, FOOTER,
BUTTONS, ...), kept as Meta sent them. The models ignore what they do not name; a template without a name or a
language is skipped, never the whole sync.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from threadline.meta.errors import MetaError
from threadline.observability import logger

if TYPE_CHECKING:  # the client brings requests: only the sync loads it (threadline.channels.whatsapp.templates)
    from threadline.meta.client import MetaClient

TEMPLATE_FIELDS = "id,name,language,status,category,quality_score,parameter_format,components"
PAGE_SIZE = 100
# A WABA holds at most a few thousand templates; a paging loop that never ends is Meta's bug, not a reason to spin.
MAX_PAGES = 200


class _Tolerant(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class QualityScore(_Tolerant):
    score: str | None = None


class MetaTemplate(_Tolerant):
    id: str | None = None
    name: str = Field(min_length=1, max_length=512)
    language: str = Field(min_length=1, max_length=32)
    status: str = Field(default="UNKNOWN", max_length=64)
    category: str | None = Field(default=None, max_length=64)
    quality_score: QualityScore | None = None
    parameter_format: str | None = Field(default=None, max_length=32)
    components: list[dict[str, Any]] = Field(default_factory=list)


class _Cursors(_Tolerant):
    after: str | None = None


class _Paging(_Tolerant):
    cursors: _Cursors | None = None
    next: str | None = None


def _page(body: Any) -> tuple[list[MetaTemplate], str | None]:
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise MetaError("Meta's template list is not {data: [...]}")
    templates = []
    for item in body["data"]:
        try:
            templates.append(MetaTemplate.model_validate(item))
        except ValidationError as error:
            logger.warning("a template Meta listed is not usable; skipped", extra={"error": str(error)[:500]})
    try:
        paging = _Paging.model_validate(body.get("paging") or {})
    except ValidationError:
        return templates, None
    after = paging.cursors.after if paging.cursors else None
    return templates, after if paging.next and after else None


def fetch_all_templates(client: MetaClient, waba_id: str, *, deadline: float | None = None) -> list[MetaTemplate]:
    """Every template of the WABA, every page. Raises a MetaError subclass when a page cannot be read (then nothing
    of the sync is applied: a half-read list would look like deleted templates)."""
    templates: list[MetaTemplate] = []
    params = {"fields": TEMPLATE_FIELDS, "limit": str(PAGE_SIZE)}
    for _ in range(MAX_PAGES):
        page, after = _page(client.graph_get(f"{waba_id}/message_templates", params, deadline=deadline))
        templates.extend(page)
        if after is None:
            return templates
        params = {**params, "after": after}
    raise MetaError(f"Meta's template list for {waba_id} did not end after {MAX_PAGES} pages")
