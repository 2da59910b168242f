"""`make dev`'s terminal: one readable line per request instead of the handlers' raw Powertools output.

In Lambda, every function writes its logs (Powertools Logger, JSON) and its metrics (Powertools Metrics, CloudWatch
EMF JSON) to stdout, where CloudWatch wants them. On a development terminal that is a screenful of JSON per request.
While the request log is installed, stdout is routed per thread: what a handler's thread writes during an
invocation is captured, and when the invocation ends one line says what happened:

    ListConversationsFunction GET /v1/conversations 200 12 ms
    WebSocketFunction WS subscribe_conversation 200 3 ms

Errors stay visible: after a 5xx (or a crashed handler) the captured log records follow the line, readably, with the
traceback; at any status, records at WARNING and above, and output that is not Powertools JSON, follow it too. Only
metrics and INFO/DEBUG records of successful requests are left out. Other threads (the server's own messages, the
sandboxes, the local delivery dispatcher) write through as before.

`threadline serve --raw-logs` (or THREADLINE_RAW_LOGS=1) captures nothing: the raw output goes to the terminal as
it comes, with the same one-line summaries.
"""

from __future__ import annotations

import io
import json
import logging
import os
import sys
import threading
import time
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TextIO, cast

RAW_LOGS_VARIABLE = "THREADLINE_RAW_LOGS"

_QUIET_LEVELS = frozenset({"DEBUG", "INFO"})
# What Powertools adds to every record; anything else in a record is the call's own `extra`, worth showing.
_STANDARD_KEYS = frozenset(
    {
        "level",
        "location",
        "message",
        "timestamp",
        "service",
        "sampling_rate",
        "cold_start",
        "function_name",
        "function_memory_size",
        "function_arn",
        "function_request_id",
        "correlation_id",
        "xray_trace_id",
        "exception",
        "exception_name",
        "stack_trace",
    }
)


def raw_logs_requested(environ: Mapping[str, str] | None = None) -> bool:
    """THREADLINE_RAW_LOGS=1 (or true, yes, on)."""
    value = (os.environ if environ is None else environ).get(RAW_LOGS_VARIABLE, "")
    return value.strip().lower() in {"1", "true", "yes", "on"}


class _ThreadRoutedStream(io.TextIOBase):
    """Stands in for sys.stdout: a thread inside `capture()` writes into its own buffer, every other thread writes
    through to the stream this one replaced."""

    def __init__(self, target: TextIO) -> None:
        super().__init__()
        self.target = target
        self._local = threading.local()

    def _buffer(self) -> io.StringIO | None:
        stack: list[io.StringIO] | None = getattr(self._local, "stack", None)
        return stack[-1] if stack else None

    @contextmanager
    def capture(self) -> Iterator[io.StringIO]:
        stack: list[io.StringIO] = self._local.__dict__.setdefault("stack", [])
        buffer = io.StringIO()
        stack.append(buffer)
        try:
            yield buffer
        finally:
            stack.pop()

    def write(self, text: str) -> int:
        buffer = self._buffer()
        return buffer.write(text) if buffer is not None else self.target.write(text)

    def flush(self) -> None:
        if self._buffer() is None:
            self.target.flush()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self.target.isatty()

    def fileno(self) -> int:
        return self.target.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.target, "encoding", None) or "utf-8"


def _stream_handlers() -> Iterator[logging.StreamHandler[Any]]:
    loggers: list[Any] = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    for logger in loggers:
        for handler in getattr(logger, "handlers", []):
            if isinstance(handler, logging.StreamHandler):
                yield handler


@dataclass
class Invocation:
    """One handler run, as its caller reports it: the status it answered, and the traceback if it crashed."""

    status: int | None = None
    crash: str | None = None
    _quiet: bool = False  # inside a request log: the crash is reported with the request's line

    def crashed(self) -> None:
        """Call from the `except` block of a handler that raised (what the Lambda runtime logs)."""
        self.status = self.status or 500
        if self._quiet:
            self.crash = traceback.format_exc()
        else:
            traceback.print_exc()


class RequestLog:
    """The dev server's request lines, and (unless `raw`) the per-thread capture of stdout behind them. Install it
    (a context manager) before the handlers are imported if possible; logging handlers already writing to stdout are
    pointed at the router too."""

    def __init__(self, *, raw: bool = False, stream: TextIO | None = None) -> None:
        self.raw = raw
        self._requested_stream = stream
        self.stream: TextIO = stream or sys.stdout
        self._router: _ThreadRoutedStream | None = None
        self._repointed: list[logging.StreamHandler[Any]] = []
        self._lock = threading.Lock()

    def __enter__(self) -> RequestLog:
        self.install()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.uninstall()

    def install(self) -> None:
        original = sys.stdout
        self.stream = self._requested_stream or original
        if self.raw or self._router is not None:
            return
        router = _ThreadRoutedStream(original)
        for handler in _stream_handlers():
            if handler.stream is original:
                handler.setStream(cast(TextIO, router))
                self._repointed.append(handler)
        sys.stdout = cast(TextIO, router)
        self._router = router

    def uninstall(self) -> None:
        router, self._router = self._router, None
        if router is None:
            return
        if sys.stdout is router:
            sys.stdout = router.target
        for handler in self._repointed:
            if handler.stream is router:
                handler.setStream(router.target)
        self._repointed.clear()

    @contextmanager
    def invocation(self, function: str, what: str, *, started: float | None = None) -> Iterator[Invocation]:
        """Run a handler inside: its thread's output is captured (unless raw), and its line printed at the end."""
        started = time.perf_counter() if started is None else started
        call = Invocation(_quiet=True)
        captured: io.StringIO | None = None
        try:
            if self._router is None:
                yield call
            else:
                with self._router.capture() as captured:
                    yield call
        except BaseException:
            if call.crash is None:
                call.crashed()
            raise
        finally:
            self._report(function, what, call, started, captured.getvalue() if captured is not None else "")

    def note(self, function: str, what: str, status: int, *, started: float, detail: str = "") -> None:
        """A line for a request no handler ran for (refused by the authorizer, no such route)."""
        suffix = f" ({detail})" if detail else ""
        self._write(f"{_line(function, what, status, started)}{suffix}\n")

    def _report(self, function: str, what: str, call: Invocation, started: float, captured: str) -> None:
        status = call.status if call.status is not None else 500
        failed = status >= 500 or call.crash is not None
        shown = [text for text in (_readable(line, show_all=failed) for line in captured.splitlines()) if text]
        if call.crash:
            shown.append(_indent(call.crash.rstrip()))
        self._write("\n".join([_line(function, what, status, started), *shown]) + "\n")

    def _write(self, text: str) -> None:
        with self._lock:
            self.stream.write(text)
            self.stream.flush()


@contextmanager
def logged_invocation(
    log: RequestLog | None, function: str, what: str, *, started: float | None = None
) -> Iterator[Invocation]:
    """`log.invocation(...)`, or, without a request log (tests, embedding), a bare Invocation whose crash is printed
    at once as before."""
    if log is None:
        yield Invocation()
        return
    with log.invocation(function, what, started=started) as call:
        yield call


def _line(function: str, what: str, status: int, started: float) -> str:
    return f"{function} {what} {status} {(time.perf_counter() - started) * 1000:.0f} ms"


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines())


def _readable(line: str, *, show_all: bool) -> str | None:
    """A captured line as the terminal shows it, or None when it is left out: metrics always (they say nothing about
    what went wrong), INFO/DEBUG records unless the request failed. Other output is shown as it is."""
    if not line.strip():
        return None
    try:
        record = json.loads(line)
    except ValueError:
        return _indent(line)
    if not isinstance(record, dict):
        return _indent(line)
    if "_aws" in record:
        return None
    level = record.get("level")
    if not isinstance(level, str) or "message" not in record:
        return _indent(line)
    if level in _QUIET_LEVELS and not show_all:
        return None
    extra = {key: value for key, value in record.items() if key not in _STANDARD_KEYS}
    text = f"{level} {record['message']}" + (f" {json.dumps(extra, default=str)}" if extra else "")
    exception = record.get("exception")
    if isinstance(exception, str) and exception:
        text += "\n" + exception.rstrip()
    return _indent(text)
