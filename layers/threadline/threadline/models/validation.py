"""Turn pydantic's validation errors into one short sentence a connector developer can act on,
e.g. `conversations[0].messages[2].sent_at: must be an ISO 8601 timestamp`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

_MAX_REPORTED_ERRORS = 3


def error_location(loc: Sequence[int | str]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _explain(error: ErrorDetails) -> str:
    kind = error["type"]
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    if kind == "missing":
        return "is required"
    if kind in {"string_type", "str_type"}:
        return "must be a string"
    if kind in {"list_type"}:
        return "must be an array"
    if kind in {"model_type", "dict_type", "model_attributes_type"}:
        return "must be an object"
    if kind in {"bool_type", "bool_parsing"}:
        return "must be a boolean"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '')}"
    if kind.startswith("datetime") or kind.startswith("timezone"):
        return "must be an ISO 8601 timestamp"
    if kind == "string_too_short" or (kind == "too_short" and isinstance(error.get("input"), str)):
        return "must not be empty" if ctx.get("min_length") == 1 else f"must be at least {ctx['min_length']} characters"
    if kind == "string_too_long" or (kind == "too_long" and isinstance(error.get("input"), str)):
        return f"must be at most {ctx['max_length']} characters"
    if kind == "too_long":
        return f"must have at most {ctx['max_length']} items"
    if kind == "too_short":
        return f"must have at least {ctx['min_length']} items"
    if kind == "extra_forbidden":
        return "is not a known field"
    return str(error["msg"]).removeprefix("Value error, ")


def describe_validation_error(error: ValidationError) -> str:
    parts = []
    for detail in error.errors(include_url=False)[:_MAX_REPORTED_ERRORS]:
        location = error_location(detail["loc"])
        explanation = _explain(detail)
        parts.append(f"{location}: {explanation}" if location else explanation)
    return "; ".join(parts)
