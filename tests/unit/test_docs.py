"""The project's own documents carry its contracts: every local link in README.md and docs/**/*.md resolves inside the
repository (headings included), every HTTP route of template.yaml is documented in one of them, and the README stays
a five-minute read that still names every function and routes every HTTP route to its function."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from devtools.template import Route, load_template
from tests.support.paths import REPO_ROOT

README = REPO_ROOT / "README.md"
DOCUMENTS = [README, *sorted((REPO_ROOT / "docs").rglob("*.md"))]
README_MAX_BYTES = 16_000
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_FENCE = re.compile(r"^(```|~~~)")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$")


def _local_links(document: Path) -> list[str]:
    return [target for target in _LINK.findall(document.read_text()) if not re.match(r"[a-z]+:", target)]


def _prose_lines(document: Path) -> list[str]:
    """The document's lines outside fenced code blocks (where `# ...` is a shell comment, not a heading)."""
    lines, fenced = [], False
    for line in document.read_text().splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


@cache
def _anchors(document: Path) -> frozenset[str]:
    """The heading anchors GitHub renders: lower case, punctuation dropped, spaces as hyphens, repeats numbered."""
    seen: dict[str, int] = {}
    anchors = set()
    for line in _prose_lines(document):
        heading = _HEADING.match(line)
        if heading is None:
            continue
        slug = re.sub(r"[^\w\- ]", "", heading[1].strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return frozenset(anchors)


def _route_pattern(route: Route) -> str:
    # Documents write path parameters as the template does ({id}) or by their meaning; compare the fixed parts.
    return re.sub(r"\\\{[^}]+\\\}", r"\\{[^}]+\\}", re.escape(route.path)) + r"(?![\w/])"


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: str(path.relative_to(REPO_ROOT)))
def test_every_local_link_resolves_inside_the_repository(document):
    for target in _local_links(document):
        path, _, anchor = target.partition("#")
        resolved = (document.parent / path).resolve() if path else document

        assert resolved.is_relative_to(REPO_ROOT), f"{document.name} links outside the repository: {target}"
        assert resolved.exists(), f"{document.name} links to a missing file: {target}"
        if anchor and resolved.suffix == ".md":
            assert anchor in _anchors(resolved), f"{document.name} links to a missing heading: {target}"


def test_every_http_route_is_documented():
    text = "\n".join(document.read_text() for document in DOCUMENTS)
    undocumented = [route.route_key for route in load_template().routes if not re.search(_route_pattern(route), text)]

    assert undocumented == []


def test_the_readme_stays_a_five_minute_read():
    size = len(README.read_bytes())

    assert size <= README_MAX_BYTES, f"README.md is {size} bytes: move detail into docs/ (at most {README_MAX_BYTES})"


def test_the_readme_names_every_function_of_the_template():
    text = README.read_text()
    unnamed = [
        function.logical_id
        for function in load_template().functions.values()
        if function.logical_id not in text and f"functions/{function.code_path.name}" not in text
    ]

    assert unnamed == []


def test_the_readme_routes_every_http_route_to_its_function():
    """Its route table: each route's path, method and function on one row."""
    rows = [line for line in README.read_text().splitlines() if line.startswith("|")]
    missing = [
        f"{route.route_key} -> {route.function}"
        for route in load_template().routes
        if not any(
            re.search(_route_pattern(route), row) and re.search(rf"\b{route.method}\b", row) and route.function in row
            for row in rows
        )
    ]

    assert missing == []
