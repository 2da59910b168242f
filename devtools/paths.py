"""Where local state lives: `.local/` at the repository root (ignored by git)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
LOCAL_STATE = Path(os.environ.get("THREADLINE_LOCAL_DIR", REPO_ROOT / ".local"))
TEMPLATE_PATH = REPO_ROOT / "template.yaml"
