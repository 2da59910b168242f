"""Request bodies into models, and pydantic's validation errors into one short sentence a developer can act on,
e.g. `conversations[0].messages[2].sent_at: must be an ISO 8601 timestamp`. Every route's body parsing goes
through here, so the same mistake gets the same words whatever the route."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ValidationError
from pydantic_core import ErrorDetails

from threadline.errors import InvalidRequest

INVALID_JSON_MESSAGE = "Request body must be valid JSON"
NOT_AN_OBJECT_MESSAGE = "Request body must be a JSON object"
# pydantic's JSON parser (jiter) stops at about 200 levels; Python's json module raises RecursionError near 1,000,
# which was a 500. Every route (and every WebSocket frame) refuses deeper documents with the same sentence.
MAX_JSON_DEPTH = 200
TOO_DEEP_MESSAGE = f"Request body must not nest arrays and objects more than {MAX_JSON_DEPTH} levels deep"
NUL_MESSAGE = "must not contain NUL characters"
SURROGATE_MESSAGE = "must not contain unpaired UTF-16 surrogates"
REPLACEMENT_CHARACTER = "\ufffd"

ModelT = TypeVar("ModelT", bound=BaseModel)


def reject_nul(value: str) -> str:
    # PostgreSQL text cannot hold U+0000; refusing it in the model keeps the 400 ahead of any write.
    if "\x00" in value:
        raise ValueError(NUL_MESSAGE)
    return value


# A lone surrogate (JSON's "\ud800" without its pair, e.g. a truncated emoji) is not a character: UTF-8 cannot encode
# it, so PostgreSQL (and every JSON encoder that answers) would fail on it.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _text_problem(value: str) -> str | None:
    if "\x00" in value:
        return NUL_MESSAGE
    if not value.isascii() and _SURROGATE.search(value):
        return SURROGATE_MESSAGE
    return None


def _repaired(value: str) -> str:
    return _SURROGATE.sub(REPLACEMENT_CHARACTER, value.replace("\x00", ""))


def _checked(value: Any, path: list[int | str], depth: int, repair: bool) -> Any:
    """`value` with every string checked (or, with `repair`, cleaned) and nesting bounded; recursion is safe
    because it stops at MAX_JSON_DEPTH."""
    if isinstance(value, str):
        if repair:
            return _repaired(value)
        problem = _text_problem(value)
        if problem:
            location = error_location(path)
            raise InvalidRequest(f"{location}: {problem}" if location else problem)
        return value
    if isinstance(value, dict | list):
        if depth >= MAX_JSON_DEPTH:
            raise InvalidRequest(TOO_DEEP_MESSAGE)
        if isinstance(value, list):
            return [_checked(item, [*path, index], depth + 1, repair) for index, item in enumerate(value)]
        return {
            _checked(key, [*path, key], depth + 1, repair): _checked(item, [*path, key], depth + 1, repair)
            for key, item in value.items()
        }
    return value


def json_document(body: str | bytes, *, repair_text: bool = False) -> Any:
    """The body as a JSON value whose strings PostgreSQL can store, else InvalidRequest naming the first bad field:
    not JSON, nested deeper than MAX_JSON_DEPTH, or text with U+0000 or an unpaired surrogate. With `repair_text`
    (for what must not be lost, like Meta's deliveries) NULs are dropped and lone surrogates become U+FFFD."""
    try:
        parsed = json.loads(body)
    except RecursionError:
        raise InvalidRequest(TOO_DEEP_MESSAGE) from None
    except ValueError:  # UnicodeDecodeError included
        raise InvalidRequest(INVALID_JSON_MESSAGE) from None
    return _checked(parsed, [], 0, repair_text)


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
    if kind == "string_unicode":  # a lone surrogate, in a field typed as text
        return SURROGATE_MESSAGE
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


def describe_validation_error(error: ValidationError, *, at: Sequence[int | str] = ()) -> str:
    """The first few problems, each as `location: explanation`; `at` is where the validated value sits in a larger
    document (its location is prefixed to each problem's)."""
    parts = []
    for detail in error.errors(include_url=False)[:_MAX_REPORTED_ERRORS]:
        location = error_location([*at, *detail["loc"]])
        explanation = _explain(detail)
        parts.append(f"{location}: {explanation}" if location else explanation)
    return "; ".join(parts)


def json_object(
    body: str | bytes,
    *,
    max_bytes: int | None = None,
    too_large_message: str | None = None,
    repair_text: bool = False,
) -> dict[str, Any]:
    """The body as a JSON object (checked as json_document checks it), for parsers that look at it before a
    model does."""
    if max_bytes is not None and len(body) > max_bytes:
        raise InvalidRequest(too_large_message or f"Request body too large: at most {max_bytes} bytes")
    parsed = json_document(body, repair_text=repair_text)
    if not isinstance(parsed, dict):
        raise InvalidRequest(NOT_AN_OBJECT_MESSAGE)
    return parsed


def _refuse_nul_anywhere(body: str | bytes) -> None:
    """A NUL in any field, not only in the fields a model marks (a NUL in ingest's `connection_id` was a 500): JSON
    can only write it as the escape \\u0000, so one substring search finds the bodies that may hold one (about
    0.6 ms per MB), and only those are parsed a second time, to name the field (or to pass: the text "\\\\u0000" is
    an escaped backslash before "u0000")."""
    if (b"\\u0000" in body) if isinstance(body, bytes) else ("\\u0000" in body):
        json_document(body)


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
    _refuse_nul_anywhere(body)
    try:
        return model.model_validate_json(body)
    except ValidationError as error:
        problems = error.errors(include_url=False)
        if problems[0]["type"] == "json_invalid":
            # pydantic's parser refuses nesting past ~200 levels and lone surrogates in untyped values (metadata,
            # template components) as invalid JSON; the second parse names which, and where.
            json_document(body)
            raise InvalidRequest(INVALID_JSON_MESSAGE) from None
        if problems[0]["type"] == "model_type" and not problems[0]["loc"]:
            raise InvalidRequest(NOT_AN_OBJECT_MESSAGE) from None
        if missing_fields_message and any(p["type"] == "missing" and len(p["loc"]) == 1 for p in problems):
            raise InvalidRequest(missing_fields_message) from None
        raise InvalidRequest(describe_validation_error(error)) from None
