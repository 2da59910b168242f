"""WhatsApp message templates, in Threadline's terms: Meta's template list as records to store, the parameters a
send of each template must give (derived from its components), the check of a template send against the synced
template, and Meta's template webhooks as updates.

A template's variables are `{{1}}`, `{{2}}`, ... (parameter_format POSITIONAL) or `{{name}}` (NAMED) in its HEADER
(format TEXT) and BODY text; a media header (IMAGE, VIDEO, DOCUMENT) or a LOCATION header takes one parameter of that
type; a URL button whose url has a variable takes a text parameter, a COPY_CODE button a coupon_code, an OTP button
(authentication) the code as text. A send gives them as Meta's send components: `{"type": "header"|"body",
"parameters": [...]}` and `{"type": "button", "sub_type": ..., "index": ..., "parameters": [...]}`; a named-format
template's text parameters carry `parameter_name`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import psycopg

from threadline.channels.base import TemplateContent
from threadline.db.repositories.message_templates import (
    TemplateRecord,
    TemplateRow,
    TemplateUpdates,
    find_number_templates,
)
from threadline.errors import InvalidRequest, UpstreamFailure
from threadline.meta.errors import MetaError
from threadline.meta.template_webhooks import TemplateChange, parse_template_changes
from threadline.meta.templates import MetaTemplate
from threadline.meta.webhook import CATEGORY_FIELD, QUALITY_FIELD, STATUS_FIELD, TEMPLATE_FIELDS
from threadline.models.templates import (
    ButtonParameter,
    HeaderParameter,
    TemplateParameter,
    TemplateParameters,
)

APPROVED = "APPROVED"
_VARIABLE = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
_MEDIA_HEADERS = {"IMAGE": "image", "VIDEO": "video", "DOCUMENT": "document", "LOCATION": "location"}
# Buttons a send may give a parameter to without having to (a quick reply's payload, a flow's token and data).
_OPTIONAL_BUTTON_SUB_TYPES = {"QUICK_REPLY": "quick_reply", "FLOW": "flow"}

# A status webhook's `event` is what happened; the status it leaves (None: the status is unchanged, e.g. FLAGGED
# warns while the template stays APPROVED, LOCKED/UNLOCKED are about editing).
_STATUS_AFTER_EVENT = {
    "APPROVED": "APPROVED",
    "REJECTED": "REJECTED",
    "PENDING": "PENDING",
    "PAUSED": "PAUSED",
    "DISABLED": "DISABLED",
    "ARCHIVED": "ARCHIVED",
    "UNARCHIVED": "APPROVED",
    "REINSTATED": "APPROVED",
    "IN_APPEAL": "IN_APPEAL",
    "PENDING_DELETION": "PENDING_DELETION",
    "DELETED": "DELETED",
    "LIMIT_EXCEEDED": "LIMIT_EXCEEDED",
}


# ---------------------------------------------------------------------------------------------------------------
# Meta's list -> records
# ---------------------------------------------------------------------------------------------------------------
def _record(template: MetaTemplate) -> TemplateRecord:
    return TemplateRecord(
        provider_id=template.id,
        name=template.name,
        language=template.language,
        status=template.status.upper(),
        category=template.category.upper() if template.category else None,
        quality=template.quality_score.score.upper()
        if template.quality_score and template.quality_score.score
        else None,
        parameter_format=(template.parameter_format or "POSITIONAL").upper(),
        components=template.components,
    )


def fetch_account_templates(waba_id: str, *, deadline: float | None = None) -> list[TemplateRecord]:
    """Every template of the WhatsApp Business Account, every page (raises a MetaError when a page fails)."""
    # Imported here: the Graph client brings requests, which the send check and the webhook never need.
    from threadline.meta.client import get_meta_client
    from threadline.meta.templates import fetch_all_templates

    try:
        templates = fetch_all_templates(get_meta_client(), waba_id, deadline=deadline)
    except MetaError as error:
        raise UpstreamFailure(f"Meta's template list for WhatsApp Business Account {waba_id}: {error}") from error
    return [_record(template) for template in templates]


# ---------------------------------------------------------------------------------------------------------------
# A template's parameters
# ---------------------------------------------------------------------------------------------------------------
def _variables(text: Any) -> list[str]:
    seen: list[str] = []
    for name in _VARIABLE.findall(text if isinstance(text, str) else ""):
        if name not in seen:
            seen.append(name)
    return seen


def _examples(component: dict[str, Any], names: list[str], *, positional_key: str, named_key: str) -> dict[str, str]:
    example = component.get("example") if isinstance(component.get("example"), dict) else {}
    assert isinstance(example, dict)
    named = example.get(named_key)
    if isinstance(named, list):
        return {
            str(item.get("param_name")): str(item.get("example"))
            for item in named
            if isinstance(item, dict) and item.get("param_name") is not None
        }
    positional = example.get(positional_key)
    if isinstance(positional, list) and positional and isinstance(positional[0], list):
        positional = positional[0]  # body_text is a list of lists
    values = [str(value) for value in positional] if isinstance(positional, list) else []
    return dict(zip(names, values, strict=False))


def _typed(components: Iterable[Any], kind: str) -> dict[str, Any] | None:
    return next(
        (c for c in components if isinstance(c, dict) and str(c.get("type", "")).upper() == kind),
        None,
    )


def template_parameters(components: list[dict[str, Any]]) -> TemplateParameters:
    header = None
    header_component = _typed(components, "HEADER")
    if header_component is not None:
        header_format = str(header_component.get("format", "TEXT")).upper()
        if header_format in _MEDIA_HEADERS:
            header = HeaderParameter(format=_MEDIA_HEADERS[header_format], parameters=[])  # type: ignore[arg-type]
        else:
            names = _variables(header_component.get("text"))
            if names:
                examples = _examples(
                    header_component, names, positional_key="header_text", named_key="header_text_named_params"
                )
                header = HeaderParameter(
                    format="text", parameters=[TemplateParameter(name=n, example=examples.get(n)) for n in names]
                )
    body: list[TemplateParameter] = []
    body_component = _typed(components, "BODY")
    if body_component is not None:
        names = _variables(body_component.get("text"))
        examples = _examples(body_component, names, positional_key="body_text", named_key="body_text_named_params")
        body = [TemplateParameter(name=n, example=examples.get(n)) for n in names]
    buttons: list[ButtonParameter] = []
    buttons_component = _typed(components, "BUTTONS")
    for index, button in enumerate((buttons_component or {}).get("buttons") or []):
        if not isinstance(button, dict):
            continue
        kind = str(button.get("type", "")).upper()
        example = button.get("example")
        example_text = (
            str(example[0])
            if isinstance(example, list) and example
            else (str(example) if isinstance(example, str) else None)
        )
        if kind == "URL" and _variables(button.get("url")):
            buttons.append(ButtonParameter(index=index, sub_type="url", parameter_type="text", example=example_text))
        elif kind == "COPY_CODE":
            buttons.append(
                ButtonParameter(index=index, sub_type="copy_code", parameter_type="coupon_code", example=example_text)
            )
        elif kind == "OTP":
            buttons.append(ButtonParameter(index=index, sub_type="url", parameter_type="text", example=None))
    return TemplateParameters(header=header, body=body, buttons=buttons)


# ---------------------------------------------------------------------------------------------------------------
# A template send, checked against the synced template
# ---------------------------------------------------------------------------------------------------------------
def _parameters(component: dict[str, Any]) -> list[Any]:
    parameters = component.get("parameters")
    return parameters if isinstance(parameters, list) else []


def _check_text_parameters(
    where: str, expected: list[TemplateParameter], given: list[Any], *, named: bool, problems: list[str]
) -> None:
    names = [p.name for p in expected]
    if named:
        unnamed = [i for i, p in enumerate(given) if not (isinstance(p, dict) and p.get("parameter_name"))]
        if unnamed:
            problems.append(
                f"{where}: this template uses named parameters, so every parameter needs parameter_name"
                f" (expected: {', '.join(names) or 'none'})"
            )
            return
        given_names = [str(p["parameter_name"]) for p in given]
        missing = [n for n in names if n not in given_names]
        extra = [n for n in given_names if n not in names]
        if missing:
            problems.append(f"{where}: missing parameters {', '.join(missing)}")
        if extra:
            problems.append(f"{where}: unknown parameters {', '.join(extra)} (expected: {', '.join(names) or 'none'})")
        return
    if len(given) < len(names):
        problems.append(f"{where}: missing parameters: expected {len(names)} ({', '.join(names)}), got {len(given)}")
    elif len(given) > len(names):
        problems.append(f"{where}: extra parameters: expected {len(names)}, got {len(given)}")


def _check_components(row: TemplateRow, requested: list[dict[str, Any]]) -> list[str]:
    expected = template_parameters(row.components)
    named = (row.parameter_format or "").upper() == "NAMED"
    problems: list[str] = []
    by_type: dict[str, list[dict[str, Any]]] = {}
    for component in requested:
        by_type.setdefault(str(component.get("type", "")).lower(), []).append(component)
    known = {"header", "body", "button"}
    template_types = {str(c.get("type", "")).lower() for c in row.components if isinstance(c, dict)}
    for kind in sorted(set(by_type) - known):
        if kind not in template_types:
            problems.append(f"component {kind!r}: the template has no such component")

    headers = by_type.get("header", [])
    if expected.header is None:
        if any(_parameters(h) for h in headers):
            problems.append("header: the template's header takes no parameters")
    elif not headers or not any(_parameters(h) for h in headers):
        problems.append(f"header: missing its {expected.header.format} parameter")
    else:
        given = [p for h in headers for p in _parameters(h)]
        if expected.header.format == "text":
            _check_text_parameters("header", expected.header.parameters, given, named=named, problems=problems)
        elif len(given) != 1 or not isinstance(given[0], dict) or given[0].get("type") != expected.header.format:
            problems.append(f"header: expected one {expected.header.format} parameter")

    body_given = [p for b in by_type.get("body", []) for p in _parameters(b)]
    _check_text_parameters("body", expected.body, body_given, named=named, problems=problems)

    required = {b.index: b for b in expected.buttons}
    optional = {
        index
        for index, button in enumerate((_typed(row.components, "BUTTONS") or {}).get("buttons") or [])
        if isinstance(button, dict) and str(button.get("type", "")).upper() in _OPTIONAL_BUTTON_SUB_TYPES
    }
    given_buttons: dict[int, dict[str, Any]] = {}
    for button in by_type.get("button", []):
        try:
            index = int(button.get("index"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            problems.append("button: every button component needs its index")
            continue
        given_buttons[index] = button
    for index, button_parameter in sorted(required.items()):
        if index not in given_buttons or not _parameters(given_buttons[index]):
            problems.append(
                f"button {index}: missing its {button_parameter.parameter_type} parameter"
                f" (sub_type {button_parameter.sub_type})"
            )
    for index in sorted(set(given_buttons) - set(required) - optional):
        problems.append(f"button {index}: the template's button {index} takes no parameters")
    return problems


def check_template_send(conn: psycopg.Connection[Any], phone_number_id: str, template: TemplateContent) -> None:
    """Refuse (400, so nothing is written) a template send the synced template says Meta would refuse: unknown,
    not approved, not in that language, or missing, extra or unnamed parameters. A number whose connection records
    no WhatsApp Business Account has no synced templates to check against: its sends go to Meta unchecked."""
    found = find_number_templates(conn, phone_number_id, template.name)
    waba_id, rows = found.waba_id, found.rows
    if waba_id is None:
        return
    if not found.account_has_templates:
        raise InvalidRequest(
            f"template {template.name!r} cannot be checked: no template of WhatsApp Business Account {waba_id} is"
            " synced yet (`threadline templates sync`, or the next scheduled run)"
        )
    if not rows:
        raise InvalidRequest(
            f"template {template.name!r} is not a template of WhatsApp Business Account {waba_id}"
            " (synced by `threadline templates sync` and the scheduled run)"
        )
    row = next((r for r in rows if r.language == template.language), None)
    if row is None:
        languages = ", ".join(r.language for r in rows)
        raise InvalidRequest(f"template {template.name!r} has no language {template.language!r} (it has {languages})")
    if row.status != APPROVED:
        raise InvalidRequest(
            f"template {template.name!r} ({template.language}) is {row.status}; only APPROVED templates can be sent"
        )
    problems = _check_components(row, template.components)
    if problems:
        raise InvalidRequest(f"template {template.name!r} ({template.language}): " + "; ".join(problems))


# ---------------------------------------------------------------------------------------------------------------
# Meta's template webhooks -> updates
# ---------------------------------------------------------------------------------------------------------------
def _update_columns(change: TemplateChange) -> dict[str, str | None]:
    columns: dict[str, str | None] = {"status": None, "quality": None, "category": None, "event": None, "reason": None}
    if change.field == STATUS_FIELD and change.event:
        event = change.event.upper()
        columns |= {"status": _STATUS_AFTER_EVENT.get(event), "event": event, "reason": change.reason}
    elif change.field == QUALITY_FIELD and change.new_quality_score:
        columns["quality"] = change.new_quality_score.upper()
    elif change.field == CATEGORY_FIELD and change.new_category:
        # Announced or done, `new_category` is the category the template has now.
        columns["category"] = change.new_category.upper()
    return columns


def template_updates_by_account(body: bytes) -> dict[str, TemplateUpdates]:
    """A verified notification's template changes, by WhatsApp Business Account (empty when it has none)."""
    updates: dict[str, TemplateUpdates] = {}
    if not any(name.encode() in body for name in TEMPLATE_FIELDS):
        return updates  # most notifications are messages and statuses: not parsed a second time
    for change in parse_template_changes(body):
        if change.message_template_id is None and not (
            change.message_template_name and change.message_template_language
        ):
            continue
        batch = updates.setdefault(change.waba_id, TemplateUpdates())
        columns = _update_columns(change)
        batch.provider_ids.append(change.message_template_id)
        batch.names.append(change.message_template_name)
        batch.languages.append(change.message_template_language)
        batch.statuses.append(columns["status"])
        batch.qualities.append(columns["quality"])
        batch.categories.append(columns["category"])
        batch.events.append(columns["event"])
        batch.reasons.append(columns["reason"])
    return updates
