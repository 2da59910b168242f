"""docs/websocket.md and docs/events.md take their field tables from the models (devtools/model_docs.py): the
committed documents are what the models generate, and a frame model without its table fails the generation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from devtools.model_docs import (
    DOCUMENTS,
    EVENTS_DOC,
    WEBSOCKET_DOC,
    GenerationError,
    render_events_doc,
    render_websocket_doc,
)


@pytest.mark.parametrize("path", list(DOCUMENTS), ids=lambda path: path.name)
def test_the_committed_tables_are_what_the_models_generate(path: Path):
    text = path.read_text("utf-8")

    assert DOCUMENTS[path](text) == text, (
        f"docs/{path.name}'s generated tables differ from the models: run `make docs` and commit it"
    )


def test_generating_twice_changes_nothing():
    text = WEBSOCKET_DOC.read_text("utf-8")
    once = render_websocket_doc(text)

    assert render_websocket_doc(once) == once


def test_a_frame_model_without_a_block_fails_the_generation():
    text = WEBSOCKET_DOC.read_text("utf-8")
    without = re.sub(r"<!-- generated: frame InboxCountsFrame -->.*?<!-- end generated -->", "", text, flags=re.DOTALL)

    with pytest.raises(GenerationError, match="InboxCountsFrame"):
        render_websocket_doc(without)


def test_a_block_naming_an_unknown_model_fails_the_generation():
    text = WEBSOCKET_DOC.read_text("utf-8") + "\n<!-- generated: frame NoSuchFrame -->\n<!-- end generated -->\n"

    with pytest.raises(GenerationError, match="NoSuchFrame"):
        render_websocket_doc(text)


def test_the_events_document_needs_its_block():
    text = EVENTS_DOC.read_text("utf-8").replace("<!-- generated: event data -->", "<!-- generated: other -->")

    with pytest.raises(GenerationError):
        render_events_doc(text)
