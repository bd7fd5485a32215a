"""The local stand-in for EventBridge schedules: runs each scheduled handler every interval."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from dmarcwatch.local.lambda_runtime import LocalLambdaContext
from dmarcwatch.observability import logger


class Scheduler:
    name = "scheduler"

    def __init__(
        self, jobs: list[tuple[str, Callable[[dict[str, Any], Any], Any]]], interval_seconds: float
    ) -> None:
        self._jobs = jobs
        self._interval = interval_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)

    def describe(self) -> str:
        return f"{', '.join(name for name, _ in self._jobs)} every {self._interval:g} s"

    def start(self) -> str:
        self._thread.start()
        return self.describe()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            for name, handler in self._jobs:
                event = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
                try:
                    handler(event, LocalLambdaContext(name))
                except Exception:  # a failed run must not stop the schedule, as with EventBridge
                    logger.exception("scheduled run failed", extra={"function": name})
