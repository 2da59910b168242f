"""Runs a function's real handler in-process, the way Lambda would: its module imported in isolation
(identically named app.py files never shadow each other), its environment from template.yaml, a context object."""

from __future__ import annotations

import importlib.util
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from devtools.template import Function

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
