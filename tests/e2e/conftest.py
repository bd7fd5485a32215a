"""Runs the local stack (`dmarcwatch local`, what `make dev` runs) as a subprocess on free ports."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.support.local_stack import start_local_stack


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
    try:
        process, ready = start_local_stack()
    except RuntimeError as error:
        pytest.fail(str(error))
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
