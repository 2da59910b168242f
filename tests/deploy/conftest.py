"""What tests/deploy share: one build of the stack for this machine's architecture (`make build` builds the
default, arm64, whose psycopg-binary wheel cannot load on an x86_64 machine), into .aws-sam/build-<arch>/ from the
same template and sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools.rehearsal import sam_build, this_machines_architecture


@pytest.fixture(scope="session")
def built_stack() -> Path:
    return sam_build(this_machines_architecture())
