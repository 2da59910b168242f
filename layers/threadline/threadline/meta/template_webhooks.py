"""Meta's template webhooks: `message_template_status_update`, `message_template_quality_update` and
`template_category_update`, posted to the same WhatsApp webhook as messages, with `entry[].id` the WhatsApp Business
Account (WABA) the template belongs to.

- status update: `event` (APPROVED, REJECTED, PENDING, PAUSED, DISABLED, ARCHIVED, UNARCHIVED, FLAGGED, REINSTATED,
  IN_APPEAL, PENDING_DELETION, LOCKED, UNLOCKED, ...) says what happened, which is not always the new status (a
  FLAGGED template stays APPROVED until it is disabled); `reason`, `message_template_category`, `other_info`.
- quality update: `previous_quality_score`, `new_quality_score` (GREEN, YELLOW, RED, UNKNOWN).
- category update: `new_category`, with `previous_category` once changed, or `correct_category` (and
  `category_update_timestamp`) when a change is announced: then `new_category` is still the current one.
Every change names its template by `message_template_id`, `message_template_name`, `message_template_language`.

Parsing is tolerant: a change whose value is not shaped as modelled is skipped (logged), never a refused delivery.
The signature was checked and the body parsed as JSON by threadline.meta.webhook before this runs.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, StringConstraints, ValidationError

from threadline.meta.webhook import TEMPLATE_FIELDS, WHATSAPP_OBJECT
from threadline.models.validation import json_object
from threadline.observability import logger


def _id_text(value: Any) -> Any:
    # Meta sends the template id as a JSON number.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=512)]
TemplateId = Annotated[str, BeforeValidator(_id_text), StringConstraints(max_length=64)]


class TemplateChange(BaseModel):
    """One template change, whichever of the three fields it came in."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    field: str
    waba_id: str
    message_template_id: TemplateId | None = None
    message_template_name: Short | None = None
    message_template_language: Short | None = None
    event: Short | None = None
    reason: Annotated[str, StringConstraints(max_length=1024)] | None = None
    new_quality_score: Short | None = None
    new_category: Short | None = None
    previous_category: Short | None = None
    correct_category: Short | None = None


def parse_template_changes(body: bytes) -> list[TemplateChange]:
    """The template changes of a verified notification, in the order Meta listed them."""
    document = json_object(body, repair_text=True)
    if document.get("object") not in (None, WHATSAPP_OBJECT):
        return []
    changes: list[TemplateChange] = []
    entries = document.get("entry")
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str | int):
            continue
        for change in entry.get("changes") or []:
            if not isinstance(change, dict) or change.get("field") not in TEMPLATE_FIELDS:
                continue
            value = change.get("value")
            try:
                changes.append(
                    TemplateChange.model_validate(
                        (value if isinstance(value, dict) else {})
                        | {"field": change["field"], "waba_id": str(entry["id"])}
                    )
                )
            except ValidationError as error:
                logger.warning(
                    "a template webhook change is not shaped as modelled; acknowledged, skipped",
                    extra={"field": change.get("field"), "error": str(error)[:500]},
                )
    return changes
