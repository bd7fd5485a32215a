"""Runs the local stack (`dmarcwatch local`, what `make dev` runs) as a subprocess on free ports."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LocalStack:
    api: str
    aws: str
    key: str
    test_key: str
    smtp: str
    rua: str
    process: subprocess.Popen[str]

    def cli_env(self) -> dict[str, str]:
        return {**os.environ, "DMARCWATCH_AWS_ENDPOINT_URL": self.aws}


@pytest.fixture(scope="module")
def local_stack() -> Iterator[LocalStack]:
    env = {
        **os.environ,
        "DMARCWATCH_API_PORT": str(free_port()),
        "DMARCWATCH_AWS_PORT": str(free_port()),
        "DMARCWATCH_SMTP_PORT": str(free_port()),
        "PYTHONUNBUFFERED": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "dmarcwatch.cli", "local"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 90
    output: list[str] = []
    ready: dict[str, str] = {}
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        output.append(line)
        if line.startswith("DMARCWATCH_READY "):
            ready = dict(part.split("=", 1) for part in line.split()[1:])
            break
    if not ready:
        process.kill()
        pytest.fail("the local stack did not start:\n" + "".join(output))
    stack = LocalStack(
        ready["api"], ready["aws"], ready["key"], ready["test_key"], ready["smtp"], ready["rua"], process
    )
    yield stack
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=45)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
