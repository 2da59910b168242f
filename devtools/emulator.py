"""MiniStack, the local AWS emulator the deployment rehearsal deploys to (`make deploy-local`, tests/deploy).

MiniStack runs Lambda functions as local processes of its own interpreter (no Docker), so it runs on the Lambda
runtime's Python (3.13) for the built layer's binary wheels to load. It lives in a virtualenv of its own under
`.local/ministack-venv`, installed from `devtools/emulator-requirements.txt` (pinned, with hashes). That file is not
part of uv.lock on purpose: MiniStack pins botocore exactly, and resolving it with the project would move the
layer's boto3/botocore; and it runs on another interpreter than `.venv`. aws-sam-translator lets it apply the SAM
transform as CloudFormation does; cryptography lets its API Gateway verify RS256 bearer tokens.

The emulator gets a clean environment, never the caller's: its functions inherit the emulator's environment (that
is how MiniStack hands them AWS_ENDPOINT_URL), so only what is passed here on purpose reaches them.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devtools.lambda_runtime import runtime_python
from devtools.paths import LOCAL_STATE, REPO_ROOT

REQUIREMENTS = Path(__file__).resolve().parent / "emulator-requirements.txt"
VENV = LOCAL_STATE / "ministack-venv"
REGION = "us-east-1"
# A 12-digit access key is MiniStack's account id.
ACCOUNT_ID = "000000000000"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": ACCOUNT_ID, "AWS_SECRET_ACCESS_KEY": "rehearsal", "AWS_DEFAULT_REGION": REGION}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def emulator_python() -> Path:
    """The emulator's interpreter, its virtualenv created or reinstalled when the requirements change."""
    python = VENV / "bin" / "python"
    stamp = VENV / ".requirements-sha256"
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if python.exists() and stamp.is_file() and stamp.read_text() == digest:
        return python
    uv = str(REPO_ROOT / ".uv" / "bin" / "uv")
    interpreter = runtime_python()
    subprocess.run([uv, "venv", "--quiet", "--allow-existing", "--python", interpreter, str(VENV)], check=True)
    subprocess.run(
        [uv, "pip", "install", "--quiet", "--python", str(python), "--require-hashes", "-r", str(REQUIREMENTS)],
        check=True,
    )
    stamp.write_text(digest)
    return python


@dataclass
class Emulator:
    """A running MiniStack on 127.0.0.1:`port`; `stop()` ends it and every function process it started."""

    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(  # type: ignore[call-overload]  # any service, by name
            service,
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def health(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.endpoint_url}/_ministack/health", timeout=5) as response:  # noqa: S310
            answer: dict[str, Any] = json.loads(response.read())
            return answer

    def stop(self) -> None:
        if self.process.poll() is None:
            # Its own process group: the function processes it spawned go with it.
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)


def start_emulator(state_dir: Path, *, environment: dict[str, str], startup_seconds: float = 60) -> Emulator:
    """Start MiniStack on a free port. `environment` is all the functions will see of this machine beyond what
    MiniStack gives them (e.g. where the outside services they call are)."""
    python = emulator_python()
    port = free_port()
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = state_dir / "ministack.log"
    clean = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    clean |= environment | {
        "GATEWAY_PORT": str(port),
        "MINISTACK_HOST": "127.0.0.1",
        "MINISTACK_REGION": REGION,
        "LAMBDA_EXECUTOR": "local",
        "BIND_HOST": "127.0.0.1",  # its default is every interface
        "IOT_MTLS_ENABLED": "0",  # listeners on fixed ports (8883, 2222) the rehearsal does not use
        "SFTP_ENABLED": "0",
        "TMPDIR": str(state_dir),  # function code and layers are unpacked here, removed with the state
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(python), str(Path(__file__).resolve().parent / "emulator_launch.py")],
            env=clean,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=state_dir,
            start_new_session=True,
        )
    emulator = Emulator(port=port, process=process, log_path=log_path)
    deadline = time.monotonic() + startup_seconds
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"MiniStack exited ({process.returncode}):\n{log_path.read_text()[-3000:]}")
        try:
            emulator.health()
            return emulator
        except OSError as error:
            if time.monotonic() > deadline:
                emulator.stop()
                tail = log_path.read_text()[-3000:]
                raise RuntimeError(f"MiniStack did not answer in {startup_seconds} s:\n{tail}") from error
            time.sleep(0.2)
