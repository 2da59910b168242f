"""`make dev`'s request log: one readable line per request through the local gateway (HTTP and WebSocket), the
handlers' raw Powertools output (EMF metrics, JSON logs) only with --raw-logs, and errors always visible."""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import pytest
import requests
from websockets.sync.client import connect

from devtools.gateway import LocalGateway
from devtools.request_log import RequestLog, raw_logs_requested
from devtools.template import Route, WebSocketApi, WebSocketRoute, load_template
from tests.support.paths import REPO_ROOT

FUNCTION = "NoisyFunction"
ROUTE = Route(FUNCTION, "GET", "/v1/noise", authorized=False)
GUARDED = Route(FUNCTION, "GET", "/v1/guarded", authorized=True)
WEBSOCKET = WebSocketApi(
    "$request.body.action",
    {
        key: WebSocketRoute(key, FUNCTION, authorized=False, responds=key not in ("$connect", "$disconnect"))
        for key in ("$connect", "$disconnect", "ping", "$default")
    },
)


@contextmanager
def _gateway(request_log: RequestLog) -> Iterator[LocalGateway]:
    template = load_template()
    noisy = replace(
        next(iter(template.functions.values())), logical_id=FUNCTION, code_path=REPO_ROOT / "tests/e2e/noisy_function"
    )
    server = LocalGateway(
        ("127.0.0.1", 0),
        replace(template, functions={FUNCTION: noisy}, routes=[ROUTE, GUARDED], websocket=WEBSOCKET),
        request_log=request_log,
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _get(server: LocalGateway, query: str = "", path: str = "/v1/noise") -> int:
    return requests.get(f"{server.base_url}{path}{query}", timeout=10).status_code


def _line(status: int, what: str = "GET /v1/noise") -> str:
    return rf"^{FUNCTION} {re.escape(what)} {status} \d+ ms$"


def test_one_readable_line_per_request_and_no_powertools_json(capsys):
    with RequestLog() as request_log, _gateway(request_log) as server:
        assert _get(server) == 200
        assert _get(server, "?status=404") == 404

    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) == 2, out
    assert re.match(_line(200), lines[0]) and re.match(_line(404), lines[1])
    assert '"_aws"' not in out and "NoisyRequests" not in out  # no EMF metrics
    assert "handled the request quietly" not in out  # no INFO records


def test_raw_logs_print_the_powertools_output_too(capsys):
    with RequestLog(raw=True) as request_log, _gateway(request_log) as server:
        assert _get(server) == 200

    out = capsys.readouterr().out
    emf = [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]
    assert emf and emf[0]["NoisyRequests"] == [1.0]
    assert '"message": "handled the request quietly"' in out
    assert re.search(_line(200).strip("^$"), out)


def test_a_5xx_prints_its_captured_logs_below_its_line(capsys):
    with RequestLog() as request_log, _gateway(request_log) as server:
        assert _get(server, "?status=503") == 503

    lines = capsys.readouterr().out.splitlines()
    assert re.match(_line(503), lines[0])
    assert "    INFO handled the request quietly" in lines
    assert '    ERROR request failed {"error": "Internal server error"}' in lines
    assert not any('"_aws"' in line for line in lines)


def test_a_crashed_handler_prints_its_traceback(capsys):
    with RequestLog() as request_log, _gateway(request_log) as server:
        assert _get(server, "?crash=1") == 500

    out = capsys.readouterr().out
    assert re.match(_line(500), out.splitlines()[0])
    assert "Traceback (most recent call last)" in out and "RuntimeError: boom: the handler crashed" in out


def test_warnings_are_shown_whatever_the_status(capsys):
    with RequestLog() as request_log, _gateway(request_log) as server:
        assert _get(server, "?warn=1") == 200

    lines = capsys.readouterr().out.splitlines()
    assert re.match(_line(200), lines[0])
    assert lines[1:] == ['    WARNING the read receipt could not be sent {"receipt": "wamid.1"}']


def test_requests_no_handler_ran_for_get_a_line_too(capsys):
    with RequestLog() as request_log, _gateway(request_log) as server:
        assert _get(server, path="/v1/guarded") == 401
        assert _get(server, path="/v1/nowhere") == 404

    lines = capsys.readouterr().out.splitlines()
    assert re.match(rf"^{FUNCTION} GET /v1/guarded 401 \d+ ms \(JWT authorizer\)$", lines[0])
    assert re.match(r"^- GET /v1/nowhere 404 \d+ ms \(no route\)$", lines[1])


def test_websocket_frames_get_one_line_per_route_key(capsys):
    with RequestLog() as request_log, _gateway(request_log) as server:
        assert server.websocket_url is not None
        with connect(server.websocket_url) as socket:
            socket.send(json.dumps({"action": "ping"}))
            socket.recv(timeout=10)
            socket.send(json.dumps({"type": "anything", "status": 502}))
            socket.recv(timeout=10)
        out = ""
        deadline = time.monotonic() + 10
        while "$disconnect" not in out and time.monotonic() < deadline:  # its line comes after the close
            time.sleep(0.05)
            out += capsys.readouterr().out

    lines = [line for line in out.splitlines() if not line.startswith("    ")]
    assert [re.sub(r" \d+ ms$", "", line) for line in lines] == [
        f"{FUNCTION} WS $connect 200",
        f"{FUNCTION} WS ping 200",
        f"{FUNCTION} WS $default 502",
        f"{FUNCTION} WS $disconnect 200",
    ]
    assert '"_aws"' not in out
    assert "    ERROR request failed" in out  # the 5xx frame's logs


def test_logging_handlers_already_writing_to_stdout_are_captured_too(capsys):
    """Powertools' Logger keeps the stdout it was created with: installing the request log re-points it."""
    logger = logging.getLogger("threadline-request-log-test")
    handler = logging.StreamHandler(sys.stdout)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        with RequestLog() as request_log:
            with request_log.invocation(FUNCTION, "GET /v1/noise") as call:
                logger.warning("not JSON, so shown as it is")
                call.status = 200
            logger.warning("outside any invocation: written through")
        assert handler.stream is sys.stdout  # restored
    finally:
        logger.removeHandler(handler)

    lines = capsys.readouterr().out.splitlines()
    assert re.match(_line(200), lines[0])
    assert lines[1:] == ["    not JSON, so shown as it is", "outside any invocation: written through"]


@pytest.mark.parametrize(("value", "raw"), [("1", True), ("true", True), ("", False), ("0", False)])
def test_the_environment_variable_asks_for_raw_logs(value, raw):
    assert raw_logs_requested({"THREADLINE_RAW_LOGS": value}) is raw
