"""The field tables of docs/websocket.md and docs/events.md, generated from the models, so prose cannot disagree
with the code: the frames' (threadline.models.frames) and the event log's data (threadline.models.event_data).

Each table lives between markers in its document; everything outside them is prose, left as written:

    <!-- generated: frame SessionMessageFrame -->       the named frame models (one or more, by class name)
    ...
    <!-- end generated -->
    <!-- generated: event data -->                      every event type's data model, in EventType's order
    ...
    <!-- end generated -->

A model's docstring says when it is sent; its fields' descriptions fill the tables; a nested object gets a table of
its own below (once per block: later uses point to it). Every frame model of the union must appear in exactly one
block of docs/websocket.md, and a block naming an unknown model fails the generation.

    python -m devtools.model_docs           # (make docs) rewrite the generated blocks
    python -m devtools.model_docs --check   # exit 1 when a document differs from the models

tests/unit/test_model_docs.py fails when the committed documents differ from what this generates.
Development only: never shipped in the Lambda layer.
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel
from pydantic.fields import FieldInfo
from typing_extensions import is_typeddict

from devtools.paths import REPO_ROOT
from threadline.models.event_data import EVENT_DATA_MODELS, EventData
from threadline.models.frames import SERVER_FRAMES

WEBSOCKET_DOC = REPO_ROOT / "docs" / "websocket.md"
EVENTS_DOC = REPO_ROOT / "docs" / "events.md"
END_MARKER = "<!-- end generated -->"
_BLOCK = re.compile(r"(<!-- generated: (?P<key>[^>]*?) -->\n)(?P<body>.*?)(" + re.escape(END_MARKER) + ")", re.DOTALL)
_FRAMES_BY_NAME = {model.__name__: model for model in SERVER_FRAMES}


class GenerationError(Exception):
    """The documents' markers do not match the models."""


# ---------------------------------------------------------------------------------------------------------------
# Reading models and TypedDicts alike
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Field:
    name: str
    annotation: Any
    description: str
    optional: bool  # a TypedDict key that may be absent


def _is_object(annotation: Any) -> bool:
    return isinstance(annotation, type) and (issubclass(annotation, BaseModel) or is_typeddict(annotation))


def _strip(annotation: Any) -> tuple[Any, list[Any]]:
    """The annotation without Annotated, and the metadata Annotated carried."""
    metadata: list[Any] = []
    while typing.get_origin(annotation) is typing.Annotated:
        metadata += list(annotation.__metadata__)
        annotation = annotation.__origin__
    return annotation, metadata


def _description(metadata: list[Any]) -> str:
    return next((item.description for item in metadata if isinstance(item, FieldInfo) and item.description), "")


def _fields(model: type) -> list[_Field]:
    if issubclass(model, BaseModel):
        return [
            _Field(name, info.annotation, info.description or "", optional=False)
            for name, info in model.model_fields.items()
        ]
    required: frozenset[str] = getattr(model, "__required_keys__", frozenset())  # a TypedDict's
    found = []
    for name, hint in typing.get_type_hints(model, include_extras=True).items():
        annotation, metadata = _strip(hint)
        found.append(_Field(name, annotation, _description(metadata), optional=name not in required))
    return found


def _docstring(model: type) -> str:
    return inspect.cleandoc(model.__doc__) if model.__doc__ else ""


# ---------------------------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------------------------
_SCALARS: dict[Any, str] = {
    int: "integer",
    str: "string",
    bool: "boolean",
    float: "number",
    datetime: "timestamp",
    AwareDatetime: "timestamp",
    UUID: "UUID",
    type(None): "null",
    Any: "any JSON",
}


@dataclass
class _Block:
    """One generated block: the nested objects it has rendered (later uses point to the first), and the shared
    bases of its top-level models (e.g. every message event's fields), by the title of the first that showed them
    all."""

    rendered: dict[type, str] = field(default_factory=dict)
    pending: list[tuple[str, type]] = field(default_factory=list)
    bases: dict[type, str] = field(default_factory=dict)


def _type_text(annotation: Any, path: str, block: _Block) -> str:
    annotation, _ = _strip(annotation)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation in _SCALARS:
        return _SCALARS[annotation]
    if origin is typing.Literal:
        return " \\| ".join(f"`{_literal(value)}`" for value in args)
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type_text(arg, path, block) for arg in args)
    if origin is list:
        return f"array of {_type_text(args[0], path + '[]', block)}"
    if origin is dict:
        key, value = args
        if value is Any:
            return "object"
        return f"object: {_type_text(key, path, block)} → {_type_text(value, path + '.*', block)}"
    if _is_object(annotation):
        if annotation in block.rendered:
            return f"object (as `{block.rendered[annotation]}`)"
        block.rendered[annotation] = path
        block.pending.append((path, annotation))
        return f"object (`{path}` below)"
    raise GenerationError(f"no way to write the type {annotation!r} (at {path})")


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return f'"{value}"' if isinstance(value, str) else str(value)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _table(model: type, prefix: str, block: _Block, *, only: set[str] | None = None) -> list[str]:
    lines = ["| field | type | description |", "|---|---|---|"]
    for each in _fields(model):
        if only is not None and each.name not in only:
            continue
        name = f"`{each.name}`" + (" (optional)" if each.optional else "")
        kind = _type_text(each.annotation, f"{prefix}{each.name}", block)
        lines.append(f"| {name} | {kind} | {_cell(each.description)} |")
    return lines


def _model_section(model: type, block: _Block, *, title: str = "", shared_root: type | None = None) -> list[str]:
    """A model's docstring and table, then the tables of the objects it holds.

    Models sharing a base below `shared_root` (every message event's fields): the first of them without fields of
    its own shows them all under its `title`; the others point there and list only their own fields."""
    lines: list[str] = []
    doc = _docstring(model)
    if doc:
        lines += [doc, ""]
    base = model.__bases__[0]
    if shared_root is not None and base is not shared_root and issubclass(base, shared_root):
        own = {each.name for each in _fields(model)} - {each.name for each in _fields(base)}
        if base in block.bases:
            lines.append(f"The fields of `{block.bases[base]}`" + (", and:" if own else "."))
            if own:
                lines += ["", *_table(model, "", block, only=own)]
            return lines
        if not own:
            block.bases[base] = title
    lines += _table(model, "", block)
    while block.pending:
        path, nested = block.pending.pop(0)
        nested_doc = _docstring(nested)
        lines += ["", f"`{path}`" + (f": {nested_doc[0].lower()}{nested_doc[1:]}" if nested_doc else ""), ""]
        lines += _table(nested, f"{path}.", block)
    return lines


def render_frames(names: list[str]) -> str:
    unknown = [name for name in names if name not in _FRAMES_BY_NAME]
    if unknown or not names:
        raise GenerationError(f"no frame model named {', '.join(unknown) or '(none)'} in threadline.models.frames")
    sections = []
    for name in names:
        model = _FRAMES_BY_NAME[name]
        # A block of one frame sits under that frame's heading; a block of several names each.
        title = [f"**`{_frame_title(model)}`**", ""] if len(names) > 1 else []
        sections.append("\n".join([*title, *_model_section(model, _Block())]))
    return "\n\n".join(sections)


def _frame_title(model: type[BaseModel]) -> str:
    """How a frame is named in the docs: its type (and topic, for the subscription answers)."""
    fields = model.model_fields
    kinds = " / ".join(_literal(value).strip('"') for value in typing.get_args(fields["type"].annotation))
    topic = fields.get("topic")
    return f"{kinds}, topic {topic.default}" if topic is not None else kinds


def render_event_data() -> str:
    block = _Block()
    sections = []
    for event_type, model in EVENT_DATA_MODELS.items():
        section = _model_section(model, block, title=event_type, shared_root=EventData)
        sections.append("\n".join([f"### `{event_type}`", "", *section]))
    return "\n\n".join(sections)


# ---------------------------------------------------------------------------------------------------------------
# The documents
# ---------------------------------------------------------------------------------------------------------------
def _blocks(text: str) -> Iterator[re.Match[str]]:
    starts = text.count("<!-- generated: ")
    found = list(_BLOCK.finditer(text))
    if len(found) != starts:
        raise GenerationError("a `<!-- generated: ... -->` marker has no `<!-- end generated -->` after it")
    return iter(found)


def _rewrite(text: str, render: Callable[[str], str]) -> str:
    """Each block's body replaced by what `render` makes of its key, set off by blank lines."""
    return _BLOCK.sub(lambda match: f"{match.group(1)}\n{render(match.group('key'))}\n\n{match.group(4)}", text)


def render_websocket_doc(text: str) -> str:
    """docs/websocket.md with its frame tables regenerated."""
    named: list[str] = []
    for match in _blocks(text):
        kind, *names = match.group("key").split()
        if kind != "frame":
            raise GenerationError(f"docs/websocket.md: unknown block `{match.group('key')}`")
        named += names
    missing = [model.__name__ for model in SERVER_FRAMES if model.__name__ not in named]
    repeated = sorted({name for name in named if named.count(name) > 1})
    if missing or repeated:
        raise GenerationError(f"docs/websocket.md: frame models without a block {missing}, in two blocks {repeated}")
    return _rewrite(text, lambda key: render_frames(key.split()[1:]))


def render_events_doc(text: str) -> str:
    """docs/events.md with its event data tables regenerated."""
    keys = [match.group("key") for match in _blocks(text)]
    if keys != ["event data"]:
        raise GenerationError(f"docs/events.md needs one `<!-- generated: event data -->` block, found {keys}")
    return _rewrite(text, lambda key: render_event_data())


DOCUMENTS: dict[Path, Callable[[str], str]] = {WEBSOCKET_DOC: render_websocket_doc, EVENTS_DOC: render_events_doc}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="exit 1 when a document differs from the models")
    check = parser.parse_args(argv).check
    stale = {}
    for path, render in DOCUMENTS.items():  # every document rendered before any is written
        text = path.read_text("utf-8")
        wanted = render(text)
        if wanted != text:
            stale[path.relative_to(REPO_ROOT)] = wanted
    if check and stale:
        print(f"{', '.join(map(str, stale))}: the generated tables differ from the models; run `make docs`")
        return 1
    for path, wanted in {} if check else stale.items():
        (REPO_ROOT / path).write_text(wanted, "utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
