"""`dmarcwatch local` (what `make dev` runs): embedded AWS, the API with the SMTP stand-in, the workers.

Everything listens on 127.0.0.1. Three processes (`local.processes` says why): this one (API and SMTP),
the embedded AWS, and the workers (queue workers and the scheduler).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Protocol

import uvicorn

from dmarcwatch.api.registry import SCHEDULED_FUNCTIONS, WORKER_FUNCTIONS
from dmarcwatch.config import get_settings
from dmarcwatch.local.processes import Child, port_open
from dmarcwatch.local.smtp import SmtpInbound
from dmarcwatch.store import aws

_FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
}


class LocalService(Protocol):
    name: str

    def start(self) -> str:
        """Start in the background; return where to reach it."""

    def stop(self) -> None: ...


class ApiServer:
    name = "API"

    def __init__(self, host: str, port: int) -> None:
        from dmarcwatch.api.app import create_app

        config = uvicorn.Config(create_app(), host=host, port=port, log_level="warning", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="api", daemon=True)
        self.url = f"http://{host}:{port}/v1"

    def start(self) -> str:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the API server did not start (is the port free?)")
            time.sleep(0.05)
        return self.url

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)


def _point_at_embedded_aws(endpoint: str) -> None:
    for name, value in _FAKE_CREDENTIALS.items():
        os.environ.setdefault(name, value)
    os.environ["DMARCWATCH_AWS_ENDPOINT_URL"] = endpoint
    os.environ.setdefault("AWS_DEFAULT_REGION", get_settings().region)
    aws.reset()


def _banner(lines: list[str]) -> None:
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


def run(wait: Callable[[threading.Event], None] | None = None) -> int:
    from dmarcwatch.local.bootstrap import (
        bootstrap,
        bootstrap_inbound,
        bootstrap_scanning,
        bootstrap_task_queues,
    )
    from dmarcwatch.models import Environment
    from dmarcwatch.plans import PlanName
    from dmarcwatch.services import accounts, admin

    settings = get_settings()
    embedded = Child("embedded AWS (moto)", "aws", dict(os.environ), lambda: port_open(settings.aws_port))
    started: list[LocalService] = []
    try:
        embedded.start()
        started.append(embedded)
        endpoint = f"http://127.0.0.1:{settings.aws_port}"
        _point_at_embedded_aws(endpoint)
        bootstrap()
        os.environ["DMARCWATCH_INGEST_QUEUE_URL"] = bootstrap_inbound()
        os.environ["DMARCWATCH_SCAN_QUEUE_URL"] = bootstrap_scanning()
        os.environ.update(bootstrap_task_queues())
        aws.reset()
        settings = get_settings()
        created = admin.create_account(
            f"dev-{int(time.time())}@localhost", PlanName.PRO, "Local developer", 365
        )
        api = ApiServer(settings.api_host, settings.api_port)
        smtp = SmtpInbound(settings.api_host, settings.smtp_port)
        # One statistics transaction at a time against the one emulator process (config.Settings).
        workers_env = {"DMARCWATCH_AGGREGATE_PARALLELISM": "1", **os.environ}
        workers = Child("workers", "workers", workers_env, lambda: True)
        api_url = api.start()
        started.append(api)
        smtp_url = smtp.start()
        started.append(smtp)
        workers.start()
        started.append(workers)
        live_address = accounts.inbound_address(created.account, Environment.LIVE)
        worker_names = ", ".join(fn.name for fn in WORKER_FUNCTIONS)
        schedule = ", ".join(
            f"{fn.name} every {settings.scheduler_interval_seconds:g} s" for fn in SCHEDULED_FUNCTIONS
        )
        _banner(
            [
                "",
                "dmarcwatch is running locally",
                f"  API:           {api_url}   (docs: {api_url.removesuffix('/v1')}/docs)",
                f"  embedded AWS:  {endpoint}",
                f"  SMTP inbound:  {smtp_url}  (SES stand-in, mail for @{settings.reports_domain})",
                f"  rua address:   {live_address}",
                f"  workers:       {worker_names} (own process)",
                f"  scheduler:     {schedule}",
                f"  account:       {created.account.id} (plan pro)",
                f"  live key:      {created.live_key.secret}",
                f"  test key:      {created.test_key.secret}",
                "",
                "Try:",
                f"  curl -s {api_url}/account -H 'Authorization: Bearer {created.live_key.secret}'",
                "API client CLI (docs/client.md):",
                f"  DMARCWATCH_API_URL={api_url} DMARCWATCH_API_KEY={created.live_key.secret} \\",
                "    .venv/bin/dmarcwatch domains list",
                "Admin CLI against this stack (in another shell):",
                f"  DMARCWATCH_AWS_ENDPOINT_URL={endpoint} \\",
                "    AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_DEFAULT_REGION=us-east-1 \\",
                "    .venv/bin/dmarcwatch admin create-account --email you@example.com --plan pro",
                "",
                f"DMARCWATCH_READY api={api_url} aws={endpoint} key={created.live_key.secret}"
                f" test_key={created.test_key.secret} smtp={settings.api_host}:{settings.smtp_port}"
                f" rua={live_address}",
                "Press Ctrl-C to stop.",
            ]
        )
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        (wait or (lambda event: event.wait()))(stop)
    finally:
        for service in reversed(started):
            service.stop()
    return 0
