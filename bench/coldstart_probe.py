"""What runs inside each cold-start process (bench/coldstart.py starts it with `python3.13 -S -c <this file>`).

Standard library only: the process may import nothing but the function's own packaged dependencies. It times
(a) loading the handler's module from its file, as Lambda's init does, and then (b) one invocation of a sample
event until the handler opens its first network connection. Every endpoint the function could reach first (the
database, the AWS API endpoint, Meta's Graph API, the JWKS URL) points at a TCP listener opened here before the clock
starts; the instant a connection arrives is the end of (b). The first bytes sent on it say what was being reached.
The process then exits on the spot, so the handler's error path (a refused connection) is never timed.
"""

import importlib.util
import json
import os
import socket
import sys
import threading
import time

PROBE = json.loads(os.environ.pop("COLDSTART_PROBE"))
RESULT_MARKER = PROBE["marker"]


def report(**figures):
    sys.__stdout__.write(RESULT_MARKER + json.dumps(figures) + "\n")
    sys.__stdout__.flush()


def what_was_reached(first_bytes):
    if first_bytes[:8] == b"\x00\x00\x00\x08\x04\xd2\x16\x2f":
        return "PostgreSQL (SSL request)"
    if first_bytes[4:8] == b"\x00\x03\x00\x00":
        return "PostgreSQL (startup)"
    head = first_bytes.decode("latin-1").split("\r\n")
    target = next((line.split(":", 1)[1].strip() for line in head if line.lower().startswith("x-amz-target:")), "")
    return f"HTTP {head[0].rsplit(' ', 1)[0]}" + (f" ({target})" if target else "")


def serve_once(listener, timings):
    connection, _ = listener.accept()
    reached_at = time.perf_counter()
    connection.settimeout(1.0)
    try:
        first_bytes = connection.recv(4096)
    except OSError:
        first_bytes = b""
    report(
        init_ms=(timings["loaded"] - timings["start"]) * 1000,
        first_request_ms=(reached_at - timings["loaded"]) * 1000,
        reached=what_was_reached(first_bytes),
    )
    os._exit(0)


class Context:
    """The attributes Powertools reads from Lambda's context object."""

    function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "bench")
    function_version = "$LATEST"
    memory_limit_in_mb = 1024
    invoked_function_arn = f"arn:aws:lambda:us-east-1:000000000000:function:{function_name}"
    aws_request_id = "00000000-0000-4000-8000-000000000000"
    log_group_name = f"/aws/lambda/{function_name}"
    log_stream_name = "bench"

    def get_remaining_time_in_millis(self):
        return 29_000


def main():
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    # Endpoints are filled in before the module loads: settings are read from the environment on first use.
    for name, value in PROBE["endpoints"].items():
        os.environ[name] = value.replace("{port}", str(port))
    timings = {}
    if PROBE["event_file"]:
        with open(PROBE["event_file"], encoding="utf-8") as file:
            event = json.load(file)
        threading.Thread(target=serve_once, args=(listener, timings), daemon=True).start()
    timings["start"] = time.perf_counter()
    spec = importlib.util.spec_from_file_location("app", PROBE["module_file"])
    module = importlib.util.module_from_spec(spec)
    sys.modules["app"] = module
    spec.loader.exec_module(module)
    timings["loaded"] = time.perf_counter()
    if not PROBE["event_file"]:
        report(init_ms=(timings["loaded"] - timings["start"]) * 1000)
        return
    try:
        answer = getattr(module, PROBE["handler"])(event, Context())
    except Exception as error:  # an authorizer refuses by raising; anything else is printed as the outcome
        answer = {"statusCode": f"raised {type(error).__name__}: {error}"}
    answered_at = time.perf_counter()
    status = answer.get("statusCode") if isinstance(answer, dict) else type(answer).__name__
    report(
        init_ms=(timings["loaded"] - timings["start"]) * 1000,
        first_request_ms=(answered_at - timings["loaded"]) * 1000,
        reached=f"nothing: answered {status} without a network round trip",
    )


main()
