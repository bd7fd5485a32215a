"""The local stack's child processes: the embedded AWS and the background workers.

`make dev` runs three processes on two cores' worth of work: the API (with the SMTP stand-in), the
embedded AWS (moto server), and the workers (queue workers and the scheduler). A 100,000-record report
costs minutes of parsing and DynamoDB emulation; in one process those threads would share one GIL with
the API and every API call would wait behind them.

Each child watches its parent and exits when the parent is gone, so a killed `make dev` leaves nothing
running.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from dmarcwatch.api.registry import SCHEDULED_FUNCTIONS, WORKER_FUNCTIONS, Resource
from dmarcwatch.config import get_settings
from dmarcwatch.local.scheduler import Scheduler
from dmarcwatch.local.worker import QueueWorker


def _exit_with_parent() -> None:
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _wait_for_signal() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()


class Child:
    """A child process of the stack, started with `python -m dmarcwatch.local.processes <role>`."""

    def __init__(self, name: str, role: str, env: dict[str, str], ready: Callable[[], bool]) -> None:
        self.name = name
        self._role = role
        self._env = env
        self._ready = ready
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        self._process = subprocess.Popen(  # noqa: S603 (this interpreter, this module, a fixed role)
            [sys.executable, "-m", "dmarcwatch.local.processes", self._role], env=self._env
        )
        deadline = time.monotonic() + 60
        while not self._ready():
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the {self.name} process did not start")
            time.sleep(0.1)
        return f"pid {self._process.pid}"

    def stop(self) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._process.kill()


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def run_embedded_aws() -> None:
    """The moto server on DMARCWATCH_AWS_PORT, with the transaction patches of the tests."""
    import logging

    from moto.server import ThreadedMotoServer

    from dmarcwatch.local import moto_responses, moto_transactions

    moto_transactions.apply()
    moto_responses.apply()
    # Switch threads more often than every 5 ms: a short API call should not wait behind a long
    # transaction of the workers for its share of the interpreter.
    sys.setswitchinterval(0.001)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log drowns the banner
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=get_settings().aws_port, verbose=False)
    server.start()
    _wait_for_signal()
    server.stop()


def _queue_url(trigger: Resource) -> str:
    # Each queue Resource's URL is the setting `<resource>_url` (as the CDK stack names its variable).
    url = getattr(get_settings(), f"{trigger.value}_url", None)
    if not isinstance(url, str):
        raise RuntimeError(f"no local queue for {trigger}")
    return url


def _load(reference: str) -> Any:
    module, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module), attribute)


def run_workers() -> None:
    """A queue worker per WORKER_FUNCTIONS entry and the scheduler, against the embedded AWS, at a lower
    CPU priority than the API (background work yields to interactive calls, as separate Lambdas would)."""
    os.nice(10)
    settings = get_settings()
    services: list[QueueWorker | Scheduler] = [
        QueueWorker(fn.name, _queue_url(fn.trigger), _load(fn.handler), fn.batch_size)
        for fn in WORKER_FUNCTIONS
    ]
    services.append(
        Scheduler(
            [(fn.name, _load(fn.handler)) for fn in SCHEDULED_FUNCTIONS], settings.scheduler_interval_seconds
        )
    )
    for service in services:
        service.start()
    _wait_for_signal()
    for service in reversed(services):
        service.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="a child process of the local stack")
    parser.add_argument("role", choices=("aws", "workers"))
    role = parser.parse_args().role
    _exit_with_parent()
    if role == "aws":
        run_embedded_aws()
    else:
        run_workers()


if __name__ == "__main__":
    main()
