"""The project's own documents carry its contracts: every local link in README.md and docs/ resolves inside the
repository, and every HTTP route of template.yaml is documented in one of them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from devtools.template import load_template
from tests.support.paths import REPO_ROOT

DOCUMENTS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def _local_links(document: Path) -> list[str]:
    return [target for target in _LINK.findall(document.read_text()) if not re.match(r"[a-z]+:", target)]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_local_link_resolves_inside_the_repository(document):
    for target in _local_links(document):
        resolved = (document.parent / target.split("#", 1)[0]).resolve()

        assert resolved.is_relative_to(REPO_ROOT), f"{document.name} links outside the repository: {target}"
        assert resolved.exists(), f"{document.name} links to a missing file: {target}"


def test_every_http_route_is_documented():
    text = "\n".join(document.read_text() for document in DOCUMENTS)
    # Documents write path parameters as the template does ({id}) or by their meaning; compare the fixed parts.
    undocumented = [
        f"{route.method} {route.path}"
        for route in load_template().routes
        if not re.search(re.sub(r"\\\{[^}]+\\\}", r"\\{[^}]+\\}", re.escape(route.path)) + r"(?![\w/])", text)
    ]

    assert undocumented == []
