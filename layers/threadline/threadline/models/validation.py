"""Request bodies into models, and pydantic's validation errors into one short sentence a developer can act on,
e.g. `conversations[0].messages[2].sent_at: must be an ISO 8601 timestamp`. Every route's body parsing goes
through here, so the same mistake gets the same words whatever the route."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ValidationError
from pydantic_core import ErrorDetails

from threadline.errors import InvalidRequest

INVALID_JSON_MESSAGE = "Request body must be valid JSON"
NOT_AN_OBJECT_MESSAGE = "Request body must be a JSON object"

ModelT = TypeVar("ModelT", bound=BaseModel)


def reject_nul(value: str) -> str:
    # PostgreSQL text cannot hold U+0000; refusing it in the model keeps the 400 ahead of any write.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


NulFreeText = Annotated[str, AfterValidator(reject_nul)]

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


def json_object(body: str | bytes) -> dict[str, Any]:
    """The body as a JSON object, for parsers that look at it before a model does."""
    try:
        parsed = json.loads(body)
    except ValueError:  # UnicodeDecodeError included
        raise InvalidRequest(INVALID_JSON_MESSAGE) from None
    if not isinstance(parsed, dict):
        raise InvalidRequest(NOT_AN_OBJECT_MESSAGE)
    return parsed


def parse_json_body(
    model: type[ModelT],
    body: str | bytes | None,
    *,
    max_bytes: int,
    empty_message: str,
    too_large_message: str,
    missing_fields_message: str | None = None,
) -> ModelT:
    """Validate a JSON request body into `model`, raising InvalidRequest with the contract's words: `empty_message`
    for no body, `missing_fields_message` (when the contract has one) for a missing top-level field."""
    if body is None or not body.strip():
        raise InvalidRequest(empty_message)
    if len(body) > max_bytes:
        raise InvalidRequest(too_large_message)
    try:
        return model.model_validate_json(body)
    except ValidationError as error:
        problems = error.errors(include_url=False)
        if problems[0]["type"] == "json_invalid":
            raise InvalidRequest(INVALID_JSON_MESSAGE) from None
        if problems[0]["type"] == "model_type" and not problems[0]["loc"]:
            raise InvalidRequest(NOT_AN_OBJECT_MESSAGE) from None
        if missing_fields_message and any(p["type"] == "missing" and len(p["loc"]) == 1 for p in problems):
            raise InvalidRequest(missing_fields_message) from None
        raise InvalidRequest(describe_validation_error(error)) from None
