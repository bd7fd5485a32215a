"""Scanning: the scan queue (and its DLQ) between the senders of scan requests and the scanner.

    API (domains group: new domains, refresh_dns) --\
                                                     +--> scan queue (DLQ after 5 receives) --> scanner
    dispatcher (EventBridge schedule, gsi2 due) ----/

Who sends and who consumes comes from the registry (infra/constructs/functions.py): a function whose
entry names `Resource.SCAN_QUEUE` may send to it, the worker triggered by it consumes it. The dispatcher's
schedule is built with the other scheduled functions in infra/constructs/functions.py.
"""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import Duration
from constructs import Construct

from dmarcwatch.api.registry import Resource, WorkerFunction
from dmarcwatch.scanning.lease import QUEUED_LEASE
from infra.constructs.inbound import VISIBILITY_TIMEOUT_FACTOR
from infra.constructs.queues import work_queue


def scan_visibility_timeout(workers: Iterable[WorkerFunction]) -> Duration:
    """6x the longest timeout of the workers the scan queue triggers."""
    timeouts = [w.timeout_seconds for w in workers if w.trigger is Resource.SCAN_QUEUE]
    if not timeouts:
        raise ValueError("no worker function consumes the scan queue (trigger Resource.SCAN_QUEUE)")
    return Duration.seconds(VISIBILITY_TIMEOUT_FACTOR * max(timeouts))


def scan_max_message_age(visibility_timeout: Duration) -> Duration:
    """When the oldest scan request's age alarms: past the dispatcher's lease (QUEUED_LEASE), a domain
    still waiting in the queue is due again and gets queued a second time, so the scanner is not keeping
    up (or requests keep failing). Never below two visibility timeouts (a request that failed twice)."""
    return Duration.seconds(max(2 * visibility_timeout.to_seconds(), QUEUED_LEASE.total_seconds()))


class Scanning(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, workers: Iterable[WorkerFunction]) -> None:
        super().__init__(scope, construct_id)
        visibility_timeout = scan_visibility_timeout(workers)

        self.scan_queue, self.dead_letter_queue = work_queue(self, "Scan", visibility_timeout)
        self.max_message_age = scan_max_message_age(visibility_timeout)
