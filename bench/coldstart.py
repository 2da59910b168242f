"""Cold start: the whole-process time of a fresh interpreter importing each function's module, as Lambda's init does.

Every AWS::Serverless::Function in template.yaml whose module file exists is imported in a new process (by file
path, as devtools.lambda_runtime does), with its template environment plus the local overrides (DATABASE_URL is
never connected to at import) and PYTHONPATH=layers/threadline. Beside them: a minimal Powertools hello-world
(bench/hello_world/app.py) and a bare `python -c pass`, with the variables every function shares. Runs are
interleaved; 2 warm-ups, then the median of 15.

Bytecode: a layer built by `sam build` (pip) ships compiled .pyc files, whereas this venv has none and the shell
sets PYTHONDONTWRITEBYTECODE. The timed runs therefore read bytecode from a private cache (PYTHONPYCACHEPREFIX in a
temporary directory, filled by the warm-ups); the "compiled" column is the same import compiled from source.

The "Lambda-like" column changes what differs from a Lambda sandbox, for information: LAMBDA_TASK_ROOT is set and
POWERTOOLS_TRACE_DISABLED is not (the template has `Tracing: Active`, so the Tracer patches libraries at import),
and packages this venv has but the layer does not ship (dev tools' dependencies such as awscrt or pyOpenSSL, which
botocore and urllib3 pick up when present) are made unimportable.

Run: `make bench-coldstart` (or `.venv/bin/python -m bench.coldstart`). Prints figures; asserts nothing.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from bench.common import median, percentile, print_header, print_ratio, print_table, ratio
from devtools.localenv import local_overrides
from devtools.paths import REPO_ROOT
from devtools.template import Function, load_template

WARMUP_RUNS = 2
TIMED_RUNS = 15
COMPILED_RUNS = 3
IMPORTTIME_RUNS = 3
TOP_IMPORTS = 8
TARGET_RATIO = 2.0
HELLO_WORLD = Path(__file__).resolve().parent / "hello_world" / "app.py"
LAYER = REPO_ROOT / "layers" / "threadline"
# Only ever placed in the environment: importing a function's module never connects to the database.
UNUSED_DATABASE_URL = "postgresql://threadline_owner@localhost:5432/threadline_coldstart_never_connected"


@dataclass(frozen=True)
class Target:
    label: str
    module_file: Path | None  # None: `python -c pass`
    variables: dict[str, str]
    code_path: Path = REPO_ROOT


@dataclass(frozen=True)
class Mode:
    """How a target's process is set up: where bytecode comes from and how close to a Lambda sandbox it is."""

    name: str
    pycache: Path
    compile_from_source: bool = False
    lambda_like: bool = False


def _canonical(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def modules_missing_from_layer() -> list[str]:
    """Top-level modules installed here by distributions the layer's requirements.txt does not list."""
    requirements = (LAYER / "requirements.txt").read_text("utf-8").splitlines()
    shipped = {_canonical(line.split("==")[0]) for line in requirements if "==" in line and not line.startswith("#")}
    return sorted(
        module
        for module, distributions in importlib.metadata.packages_distributions().items()
        if module.isidentifier()
        and not (LAYER / module).exists()
        and not any(_canonical(distribution) in shipped for distribution in distributions)
    )


def program(target: Target, mode: Mode, hidden_modules: list[str]) -> str:
    """What Lambda's runtime does at init, minus the runtime itself: load the handler's module from its file."""
    lines = []
    if mode.lambda_like and hidden_modules:
        lines.append(f"import sys; [sys.modules.setdefault(name, None) for name in {hidden_modules!r}]")
    if target.module_file is None:
        lines.append("pass")
    else:
        lines += [
            "import importlib.util",
            f"spec = importlib.util.spec_from_file_location('app', {str(target.module_file)!r})",
            "module = importlib.util.module_from_spec(spec)",
            "spec.loader.exec_module(module)",
        ]
    return "\n".join(lines)


def process_environment(target: Target, mode: Mode) -> dict[str, str]:
    """A clean environment: what a Lambda sandbox would give (plus PATH/HOME), never the developer's shell."""
    environment = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    environment |= target.variables
    environment["PYTHONPATH"] = str(LAYER)
    # With a pycache prefix Python looks for bytecode only there, whatever the venv holds: a prefix that is never
    # written to means every module is compiled from source; a filled one means every module is read as bytecode.
    environment["PYTHONPYCACHEPREFIX"] = str(mode.pycache)
    if mode.compile_from_source:
        environment["PYTHONDONTWRITEBYTECODE"] = "1"
    if mode.lambda_like:
        environment.pop("POWERTOOLS_TRACE_DISABLED", None)
        environment["LAMBDA_TASK_ROOT"] = str(target.code_path)
    return environment


def run_once(target: Target, mode: Mode, hidden_modules: list[str], *flags: str) -> tuple[float, str]:
    arguments = [sys.executable, *flags, "-c", program(target, mode, hidden_modules)]
    environment = process_environment(target, mode)
    started = time.perf_counter()
    completed = subprocess.run(arguments, env=environment, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(f"{target.label} ({mode.name}) failed:\n{completed.stderr[-2000:]}")
    return elapsed, completed.stderr


@dataclass(frozen=True)
class ImportCost:
    module: str  # as -X importtime prints it: indented by nesting depth
    cumulative_ms: float
    self_ms: float


def import_costs(target: Target, mode: Mode) -> list[ImportCost]:
    """Every module the target imports, with its median cumulative and self time over a few -X importtime runs."""
    cumulative: dict[str, list[float]] = defaultdict(list)
    own: dict[str, list[float]] = defaultdict(list)
    for _ in range(IMPORTTIME_RUNS):
        _, stderr = run_once(target, mode, [], "-X", "importtime")
        for line in stderr.splitlines():
            if not line.startswith("import time:") or "[us]" in line:
                continue
            self_us, cumulative_us, module = line.removeprefix("import time:").split("|", 2)
            module = module[1:].rstrip()
            cumulative[module].append(int(cumulative_us) / 1000)
            own[module].append(int(self_us) / 1000)
    return [ImportCost(module, median(cumulative[module]), median(own[module])) for module in cumulative]


def self_time_by_package(costs: list[ImportCost]) -> list[tuple[str, float]]:
    totals: dict[str, float] = defaultdict(float)
    for cost in costs:
        totals[cost.module.strip().split(".")[0]] += cost.self_ms
    return sorted(totals.items(), key=lambda item: item[1], reverse=True)


def shared_environment(functions: list[Function]) -> dict[str, str]:
    """The variables every function gets (the template's Globals): what the yardsticks run with."""
    common = dict(functions[0].environment) if functions else {}
    for function in functions[1:]:
        common = {name: value for name, value in common.items() if function.environment.get(name) == value}
    return common


def measure(
    targets: list[Target], modes: list[Mode], runs: int, hidden_modules: list[str], *, warmups: int = WARMUP_RUNS
) -> dict[tuple[str, str], list[float]]:
    """Interleaved: every (target, mode) once per round, so drift on a shared machine hits them all alike."""
    seconds: dict[tuple[str, str], list[float]] = defaultdict(list)
    for round_index in range(warmups + runs):
        for mode in modes:
            for target in targets:
                elapsed, _ = run_once(target, mode, hidden_modules)
                if round_index >= warmups:
                    seconds[target.label, mode.name].append(elapsed)
    return seconds


def main() -> None:
    template = load_template()
    overrides = local_overrides(UNUSED_DATABASE_URL)
    functions = [function for function in template.functions.values() if function.module_file.is_file()]
    skipped = [function for function in template.functions.values() if not function.module_file.is_file()]
    hidden_modules = modules_missing_from_layer()

    yardstick_variables = shared_environment(functions) | overrides
    bare = Target("python -c pass", None, yardstick_variables)
    hello = Target("Powertools hello-world", HELLO_WORLD, yardstick_variables, HELLO_WORLD.parent)
    by_function = [
        Target(function.logical_id, function.module_file, function.environment | overrides, function.code_path)
        for function in functions
    ]
    targets = [bare, hello, *by_function]

    with tempfile.TemporaryDirectory(prefix="threadline-coldstart-") as scratch:
        local = Mode("local", Path(scratch, "pycache"))
        lambda_like = Mode("lambda-like", Path(scratch, "pycache"), lambda_like=True)
        compiled = Mode("compiled", Path(scratch, "never-written"), compile_from_source=True)
        seconds = measure(targets, [local, lambda_like], TIMED_RUNS, hidden_modules)
        seconds |= measure(targets, [compiled], COMPILED_RUNS, hidden_modules, warmups=1)
        costs = {target.label: import_costs(target, local) for target in [hello, *by_function]}

    def median_ms(target: Target, mode: Mode) -> float:
        return median(seconds[target.label, mode.name]) * 1000

    print_header("Cold start: whole-process time to import each function's module in a fresh interpreter")
    print(
        f"   median of {TIMED_RUNS} runs after {WARMUP_RUNS} warm-ups, interleaved; bytecode from a cache, as a"
        " pip-built layer ships it; template environment + local overrides"
    )
    rows: list[list[object]] = []
    for target in targets:
        rows.append(
            [
                target.label,
                median_ms(target, local),
                percentile(seconds[target.label, local.name], 95) * 1000,
                ratio(median_ms(target, local), median_ms(hello, local)),
                ratio(
                    median_ms(target, local) - median_ms(bare, local), median_ms(hello, local) - median_ms(bare, local)
                ),
                median_ms(target, compiled),
                median_ms(target, lambda_like),
                ratio(median_ms(target, lambda_like), median_ms(hello, lambda_like)),
            ]
        )
    print()
    print_table(
        ["module", "median ms", "p95 ms", "x hello", "x hello, minus bare", "compiled ms", "Lambda-like ms", "x hello"],
        rows,
    )
    print(
        f"   compiled: no bytecode, as this venv is installed (median of {COMPILED_RUNS} after 1 warm-up)."
        " Lambda-like: LAMBDA_TASK_ROOT set, tracing on (Tracing: Active),"
        f" {len(hidden_modules)} modules the layer does not ship made unimportable."
    )
    print()
    # The headline is the Lambda-like column: locally the X-Ray SDK builds a botocore client outside Lambda and
    # dev-only packages (awscrt, pyOpenSSL) get picked up, neither of which happens in a deployed function.
    for target in by_function:
        function_ratio = ratio(median_ms(target, lambda_like), median_ms(hello, lambda_like))
        print_ratio(
            f"{target.label} / hello-world (Lambda-like)",
            function_ratio,
            target=f"<= {TARGET_RATIO}",
            met=function_ratio <= TARGET_RATIO,
        )
    for function in skipped:
        print(f"{function.logical_id}: skipped, {function.module_file.relative_to(REPO_ROOT)} does not exist (yet)")

    for label, target_costs in costs.items():
        heaviest = sorted(target_costs, key=lambda cost: cost.cumulative_ms, reverse=True)[:TOP_IMPORTS]
        print(f"\n{label}: {TOP_IMPORTS} heaviest imports (-X importtime, local, median of {IMPORTTIME_RUNS} runs)")
        print_table(
            ["module (indent = nesting)", "cumulative ms", "self ms"],
            [[cost.module, cost.cumulative_ms, cost.self_ms] for cost in heaviest],
        )
        packages = self_time_by_package(target_costs)[:TOP_IMPORTS]
        print("   self time by top-level package: " + ", ".join(f"{name} {ms:.1f}" for name, ms in packages))


if __name__ == "__main__":
    main()
