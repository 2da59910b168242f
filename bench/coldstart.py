"""Cold start: what a fresh container spends before its first answer, per function in template.yaml.

Each figure comes from a new Python 3.13 process (the Lambda runtime's version) started with `-S`, so nothing is
importable but what the function ships: its code directory, its own requirements.txt (if it has one) and the layer
(its requirements installed for this interpreter into .local/bench-coldstart/, plus layers/threadline itself). The
environment is the function's template environment made to look like a deployed one: LAMBDA_TASK_ROOT and a trace
id set, tracing on (no POWERTOOLS_TRACE_DISABLED; segments go to an X-Ray daemon address nobody listens on, over UDP
as in Lambda), DB_IAM_AUTH=true, dummy credentials in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN.

Inside the process (bench/coldstart_probe.py):
- (a) init: loading the handler's module from its file, as Lambda's init phase does;
- (b) first request: one invocation of the function's sample event from events/, from the end of (a) until the
  handler opens its first network connection. The database host, the AWS endpoint (AWS_ENDPOINT_URL), Meta's Graph
  URL and the JWKS URL all point at a listener the probe opened before its clock started; the connection's arrival
  ends (b), and its first bytes say what was reached (PostgreSQL, or which AWS API). Everything a real first request
  does before it — settings read, credentials found, IAM token minted, route matched, body parsed and validated — is
  inside (b); the round trip itself and what follows are not.

Beside them, interleaved round by round: the Powertools hello-world (bench/hello_world), the library floor
(bench/library_floor: psycopg, pydantic and Powertools imported with no Threadline code) and the reference handler
(bench/reference_create_order: the cookbook's create-order shape with validation, idempotency on DynamoDB and boto3),
both import only. Bytecode is read from a cache filled by the warm-up rounds, as a pip-built layer ships .pyc files.
The target: every HTTP function's (a)+(b) at most 0.6 x the reference handler's import.

Run: `make bench-coldstart` (needs python3.13 on PATH; the Makefile puts pyenv's there). COLDSTART_RUNS changes the
number of timed rounds. Prints figures; asserts nothing.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import platform
import shutil
import subprocess
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import median, print_header, print_ratio, print_table, ratio
from devtools.lambda_runtime import runtime_python
from devtools.paths import REPO_ROOT
from devtools.template import Function, load_template

WARMUP_RUNS = 2
TIMED_RUNS = int(os.environ.get("COLDSTART_RUNS", "9"))
TARGET_RATIO = 0.6
BENCH = Path(__file__).resolve().parent
PROBE_SOURCE = (BENCH / "coldstart_probe.py").read_text("utf-8")
HELLO_WORLD = BENCH / "hello_world"
REFERENCE = BENCH / "reference_create_order"
BOTO3_TOKEN = BENCH / "boto3_rds_token"
LIBRARY_FLOOR = BENCH / "library_floor"
LIBRARY_FLOOR_LABEL = "library floor (psycopg, pydantic, Powertools)"
LAYER = REPO_ROOT / "layers" / "threadline"
EVENTS = REPO_ROOT / "events"
STATE = REPO_ROOT / ".local" / "bench-coldstart"
RESULT_MARKER = "COLDSTART-RESULT "

# The sample event each function is invoked with: the route a fresh container most often answers first.
SAMPLE_EVENTS = {
    "IngestFunction": "ingest-v1.json",
    "SendFunction": "send-v1.json",
    "WhatsAppWebhookFunction": "whatsapp-webhook-message.json",
    "ListConversationsFunction": "list-conversations-v1.json",
    "ListMessagesFunction": "list-messages-v1.json",
    "AnnotationsFunction": "conversation-read-v1.json",
    "InboxLifecycleFunction": "change-conversation-v1.json",
    "EventsFunction": "list-events-v1.json",
    "WebhooksFunction": "webhooks-list-v1.json",
    "DeliveryDispatchFunction": "delivery-queue-message.json",
    "CopyMediaFunction": "media-copy-job.json",
    "WebSocketAuthorizerFunction": "websocket-authorizer.json",
    "WebSocketFunction": "websocket-connect.json",
    "CaptureFunction": "session-message-user.json",
    "ExpireWindowsFunction": "scheduled-window-expiry.json",
}
# The migrations custom resource has no sample in events/ (CloudFormation sends it): the Create request it gets.
MIGRATE_EVENT: dict[str, object] = {
    "RequestType": "Create",
    "ServiceToken": "arn:aws:lambda:us-east-1:000000000000:function:threadline-migrate",
    "ResponseURL": "http://127.0.0.1:9/cloudformation-response",
    "StackId": "arn:aws:cloudformation:us-east-1:000000000000:stack/threadline/00000000-0000-0000-0000-000000000000",
    "RequestId": "00000000-0000-4000-8000-000000000001",
    "LogicalResourceId": "Migrations",
    "ResourceType": "Custom::Migrations",
    "ResourceProperties": {"Version": "0"},
}
# Where a deployed function would open its first connection; the probe fills in its listener's port.
ENDPOINTS = {
    "DB_HOST": "127.0.0.1",
    "DB_PORT": "{port}",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:{port}",
    "META_GRAPH_URL": "http://127.0.0.1:{port}",
    "BEDROCK_ENDPOINT_URL": "http://127.0.0.1:{port}",
    "WEBSOCKET_MANAGEMENT_URL": "http://127.0.0.1:{port}/dev",
    "JWT_JWKS_URL": "http://127.0.0.1:{port}/.well-known/jwks.json",
}
# Values the template takes from resources that exist only once deployed.
DEPLOYED_VALUES = {
    "META_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:000000000000:secret:threadline/dev/meta-AbCdEf",
    "MASTER_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:000000000000:secret:rds-master-AbCdEf",
    "APP_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:000000000000:secret:threadline/dev/app-db-AbCdEf",
    "JWT_ISSUER": "https://issuer.example/",
    "JWT_AUDIENCE": "threadline",
}
LAMBDA_VARIABLES = {
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "ASIAQCOLDSTARTBENCH0",
    "AWS_SECRET_ACCESS_KEY": "cold/start/bench/dummy/secret/access/key0",
    "AWS_SESSION_TOKEN": "IQoJb3JpZ2luX2VjEColdStartBenchDummySessionToken",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
    "_X_AMZN_TRACE_ID": "Root=1-65f0c0de-0123456789abcdef01234567;Parent=0123456789abcdef;Sampled=1",
}


@dataclass(frozen=True)
class Target:
    label: str
    module_file: Path
    handler: str
    code_path: Path
    search_path: list[Path]
    variables: dict[str, str]
    event_file: Path | None = None  # None: import only
    http: bool = False


@dataclass
class Figures:
    init_ms: list[float] = field(default_factory=list)
    first_request_ms: list[float] = field(default_factory=list)
    reached: set[str] = field(default_factory=set)


def installed_site(python: str, name: str, requirements: Path, *, constraints: Path | None = None) -> Path:
    """A directory holding `requirements` installed for the runtime's interpreter, reinstalled when they change.
    Fully pinned files (exported from the lock) install without resolving; the reference resolves under the
    layer's pins as constraints, so it loads the same versions Threadline does."""
    tag = f"{Path(python).name}-{platform.machine()}"
    target = STATE / tag / name
    inputs = requirements.read_bytes() + (constraints.read_bytes() if constraints else b"")
    stamp = target / ".requirements-sha256"
    digest = hashlib.sha256(inputs).hexdigest()
    if stamp.is_file() and stamp.read_text() == digest:
        return target
    shutil.rmtree(target, ignore_errors=True)
    command = [str(REPO_ROOT / ".uv" / "bin" / "uv"), "pip", "install", "--quiet", "--python", python]
    command += ["--target", str(target), "-r", str(requirements)]
    command += ["-c", str(constraints)] if constraints else ["--no-deps"]
    subprocess.run(command, check=True)
    stamp.write_text(digest)
    return target


def well_formed_token() -> str:
    """A JWT the authorizer can parse (RS256, a key id) whose signature is never checked here: the authorizer's
    first round trip is fetching the issuer's keys to check it."""

    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    header = part({"alg": "RS256", "typ": "JWT", "kid": "bench-key"})
    claims = part({"sub": "bench", "iss": DEPLOYED_VALUES["JWT_ISSUER"], "aud": "threadline", "exp": 4102444800})
    return f"{header}.{claims}.{base64.urlsafe_b64encode(b'not-a-signature').rstrip(b'=').decode()}"


def sample_event(function: Function, scratch: Path) -> Path:
    if function.logical_id == "MigrateFunction":
        event: dict[str, object] = MIGRATE_EVENT
    else:
        event = json.loads((EVENTS / SAMPLE_EVENTS[function.logical_id]).read_text("utf-8"))
    if function.logical_id == "WebSocketAuthorizerFunction":
        event["queryStringParameters"] = {"token": well_formed_token()}
        event["multiValueQueryStringParameters"] = {"token": [well_formed_token()]}
    path = scratch / f"{function.logical_id}.json"
    path.write_text(json.dumps(event), "utf-8")
    return path


def lambda_environment(target: Target) -> dict[str, str]:
    """A clean environment shaped like a deployed function's, never the developer's shell."""
    environment = {name: os.environ[name] for name in ("HOME", "LANG") if name in os.environ}
    environment |= target.variables | DEPLOYED_VALUES | LAMBDA_VARIABLES
    environment |= {
        "AWS_LAMBDA_FUNCTION_NAME": target.label,
        "LAMBDA_TASK_ROOT": str(target.code_path),
        "_HANDLER": f"app.{target.handler}",
        "PYTHONPATH": os.pathsep.join(str(path) for path in target.search_path),
        # One bytecode cache for every run: the warm-ups compile, the timed runs read .pyc files.
        "PYTHONPYCACHEPREFIX": str(STATE / "pycache"),
    }
    return environment


def run_once(python: str, target: Target) -> dict[str, object]:
    probe = {
        "marker": RESULT_MARKER,
        "module_file": str(target.module_file),
        "handler": target.handler,
        "event_file": str(target.event_file) if target.event_file else None,
        "endpoints": ENDPOINTS,
    }
    environment = lambda_environment(target) | {"COLDSTART_PROBE": json.dumps(probe)}
    completed = subprocess.run(
        [python, "-S", "-c", PROBE_SOURCE],
        env=environment,
        cwd=target.code_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    results = [line for line in completed.stdout.splitlines() if line.startswith(RESULT_MARKER)]
    if completed.returncode != 0 or not results:
        raise RuntimeError(f"{target.label} failed (exit {completed.returncode}):\n{completed.stderr[-3000:]}")
    figures: dict[str, object] = json.loads(results[-1].removeprefix(RESULT_MARKER))
    return figures


def targets(scratch: Path, python: str) -> tuple[list[Target], Target, list[Target]]:
    template = load_template()
    layer_site = installed_site(python, "layer", LAYER / "requirements.txt")
    reference_site = installed_site(
        python, "reference", REFERENCE / "requirements.txt", constraints=LAYER / "requirements.txt"
    )
    http_functions = {route.function for route in template.routes}
    functions: list[Target] = []
    for function in template.functions.values():
        own_requirements = function.code_path / "requirements.txt"
        search_path = [function.code_path]
        if own_requirements.is_file():
            search_path.append(installed_site(python, function.code_path.name, own_requirements))
        functions.append(
            Target(
                label=function.logical_id,
                module_file=function.module_file,
                handler=function.handler_name,
                code_path=function.code_path,
                search_path=[*search_path, layer_site, LAYER],
                variables=function.environment,
                event_file=sample_event(function, scratch),
                http=function.logical_id in http_functions,
            )
        )
    shared = {name: value for name, value in functions[0].variables.items() if name.startswith("POWERTOOLS_")}
    hello = Target(
        "Powertools hello-world",
        HELLO_WORLD / "app.py",
        "lambda_handler",
        HELLO_WORLD,
        [HELLO_WORLD, layer_site],
        shared,
    )
    reference = Target(
        "reference (cookbook create-order)",
        REFERENCE / "app.py",
        "lambda_handler",
        REFERENCE,
        [REFERENCE, reference_site],
        shared,
    )
    # Same packages as the functions: what the token cost when it was minted through boto3 (the old first connect).
    boto3_token = Target(
        "boto3 RDS token alone (import, client, mint)",
        BOTO3_TOKEN / "app.py",
        "lambda_handler",
        BOTO3_TOKEN,
        [BOTO3_TOKEN, layer_site],
        shared | {"AWS_REGION": LAMBDA_VARIABLES["AWS_REGION"]},
    )
    # The chosen packages alone (psycopg, pydantic, Powertools): what no database function can go below.
    library_floor = Target(
        LIBRARY_FLOOR_LABEL,
        LIBRARY_FLOOR / "app.py",
        "lambda_handler",
        LIBRARY_FLOOR,
        [LIBRARY_FLOOR, layer_site],
        shared,
    )
    return [hello, library_floor, boto3_token], reference, functions


def measure(python: str, everything: list[Target]) -> dict[str, Figures]:
    """Interleaved: every target once per round, so drift on a shared machine hits them all alike."""
    figures: dict[str, Figures] = defaultdict(Figures)
    for round_index in range(WARMUP_RUNS + TIMED_RUNS):
        for target in everything:
            result = run_once(python, target)
            if round_index < WARMUP_RUNS:
                continue
            figures[target.label].init_ms.append(float(str(result["init_ms"])))
            if "first_request_ms" in result:
                figures[target.label].first_request_ms.append(float(str(result["first_request_ms"])))
                figures[target.label].reached.add(str(result["reached"]))
    return figures


def main() -> None:
    import tempfile

    python = runtime_python()
    with tempfile.TemporaryDirectory(prefix="threadline-coldstart-") as scratch:
        yardsticks, reference, functions = targets(Path(scratch), python)
        figures = measure(python, [*yardsticks, reference, *functions])

    version = subprocess.run(
        [python, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True, text=True
    )
    print_header("Cold start: init (a) and first request up to its first network round trip (b), per function")
    print(
        f"   {Path(python).name} {version.stdout.strip()} -S, only the function's packaged dependencies importable;"
        f" median of {TIMED_RUNS} interleaved rounds after {WARMUP_RUNS} warm-ups; tracing on, DB_IAM_AUTH=true"
    )
    reference_import = median(figures[reference.label].init_ms)
    rows: list[list[object]] = []
    for target in functions:
        init = median(figures[target.label].init_ms)
        first = median(figures[target.label].first_request_ms)
        rows.append(
            [
                target.label + (" (HTTP)" if target.http else ""),
                init,
                first,
                init + first,
                ratio(init + first, reference_import),
                ", ".join(sorted(figures[target.label].reached)),
            ]
        )
    for target in (*yardsticks, reference):
        init = median(figures[target.label].init_ms)
        rows.append([target.label + ", import only", init, "-", init, ratio(init, reference_import), "-"])
    print()
    print_table(["function", "(a) init ms", "(b) first ms", "(a)+(b) ms", "x reference import", "reached"], rows)
    print()
    for target in functions:
        if not target.http:
            continue
        total = median(figures[target.label].init_ms) + median(figures[target.label].first_request_ms)
        value = ratio(total, reference_import)
        print_ratio(
            f"{target.label} (a)+(b) / reference import", value, target=f"<= {TARGET_RATIO}", met=value <= TARGET_RATIO
        )
    floor = ratio(median(figures[LIBRARY_FLOOR_LABEL].init_ms), reference_import)
    print(
        f"\nThe chosen packages alone (psycopg, pydantic, Powertools; no Threadline code) import in {floor:.2f} x the"
        f" reference's import: a database function's (a)+(b) cannot go below that"
        + (f", so the {TARGET_RATIO} target is out of reach with them." if floor > TARGET_RATIO else ".")
    )


if __name__ == "__main__":
    main()
