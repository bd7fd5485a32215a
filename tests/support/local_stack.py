"""Starting the local stack (`dmarcwatch local`, what `make dev` runs) on free ports, and the admin CLI
against it: shared by the end-to-end tests and bench/local_stack.py."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

READY = "DMARCWATCH_READY "


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_local_stack(
    extra_env: dict[str, str] | None = None, timeout: float = 90
) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """The running stack and its ready line's fields (api, aws, key, test_key, smtp, rua).

    Raises RuntimeError with the stack's output if it does not become ready within `timeout` seconds.
    """
    env = {
        **os.environ,
        "DMARCWATCH_API_PORT": str(free_port()),
        "DMARCWATCH_AWS_PORT": str(free_port()),
        "DMARCWATCH_SMTP_PORT": str(free_port()),
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "dmarcwatch.cli", "local"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    output: list[str] = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        output.append(line)
        if line.startswith(READY):
            return process, dict(part.split("=", 1) for part in line.split()[1:])
    process.kill()
    raise RuntimeError("the local stack did not start:\n" + "".join(output))


def create_account(aws_endpoint: str, email: str, plan: str) -> dict[str, str]:
    """`dmarcwatch admin create-account` against the stack's embedded AWS; its JSON output."""
    env = {
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
        **os.environ,
        "DMARCWATCH_AWS_ENDPOINT_URL": aws_endpoint,
    }
    result = subprocess.run(
        [sys.executable, "-m", "dmarcwatch.cli", "admin", "create-account", "--email", email, "--plan", plan],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    created: dict[str, str] = json.loads(result.stdout)
    return created
