"""Runs a function's real handler in-process, the way Lambda would: its module imported in isolation
(identically named app.py files never shadow each other), its environment from template.yaml, a context object."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from devtools.template import Function

# Lambda's Python runtime: what the built layer is installed for and what the emulator runs functions on.
RUNTIME_PYTHON = "python3.13"

_modules: dict[str, ModuleType] = {}
_import_lock = threading.Lock()


@dataclass
class LocalLambdaContext:
    function_name: str
    timeout_seconds: int = 29
    memory_limit_in_mb: int = 1024
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started_at: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:local:000000000000:function:{self.function_name}"

    @property
    def function_version(self) -> str:
        return "$LATEST"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self.started_at)) * 1000))


def apply_function_environment(function: Function, overrides: dict[str, str] | None = None) -> None:
    """Template environment first, then local overrides; values already exported by the developer win."""
    for name, value in (function.environment | (overrides or {})).items():
        os.environ.setdefault(name, value)


def load_module(function: Function) -> ModuleType:
    """The function's handler module, imported once under a name of its own."""
    with _import_lock:
        module = _modules.get(function.logical_id)
        if module is None:
            spec = importlib.util.spec_from_file_location(
                f"threadline_function_{function.logical_id}", function.module_file
            )
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            _modules[function.logical_id] = module
    return module


def load_handler(function: Function) -> Any:
    return getattr(load_module(function), function.handler_name)


def invoke(function: Function, event: dict[str, Any]) -> Any:
    return load_handler(function)(event, LocalLambdaContext(function_name=function.logical_id))


def runtime_python() -> str:
    """The Lambda runtime's interpreter itself, not a shim: version managers' shims need variables the clean
    environment drops. Found on PATH (the Makefile puts pyenv's there), else among pyenv's installed versions, so
    a plain `pytest` finds it too."""
    found = shutil.which(RUNTIME_PYTHON)
    if found is not None:
        executable = subprocess.run([found, "-c", "import sys; print(sys.executable)"], capture_output=True, text=True)
        if executable.returncode == 0 and executable.stdout.strip():
            return executable.stdout.strip()
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    installed = sorted(pyenv_root.glob(f"versions/{RUNTIME_PYTHON.removeprefix('python')}*/bin/{RUNTIME_PYTHON}"))
    if installed:
        return str(installed[-1])
    raise SystemExit(f"{RUNTIME_PYTHON} (the Lambda runtime's Python) is not installed: `make` puts pyenv's on PATH")
