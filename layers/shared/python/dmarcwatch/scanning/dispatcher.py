"""The rescan dispatcher (EventBridge schedule): queue every active domain whose next scan is due."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from dmarcwatch import table as t
from dmarcwatch.models import utcnow
from dmarcwatch.observability import logger, metrics, tracer
from dmarcwatch.scanning.lease import QUEUED_LEASE
from dmarcwatch.store import domains as domain_store
from dmarcwatch.store import queues
from dmarcwatch.store import scans as store

PAGE = 200


def dispatch_due(now: datetime | None = None, max_per_shard: int = 2000) -> int:
    """Queue due domains shard by shard; each is leased (re-due in an hour) so it is queued once."""
    now = now or utcnow()
    queued = 0
    for shard in range(t.SCAN_SHARDS):
        after: str | None = None
        done = 0
        while done < max_per_shard:
            due, after = store.due(shard, now, PAGE, after)
            if due:
                queues.send_scan_requests(
                    [
                        {
                            "account_id": d.tenant.account_id,
                            "environment": d.tenant.environment.value,
                            "domain": d.name,
                        }
                        for d in due
                    ]
                )
                for item in due:
                    domain = domain_store.get_by_name(item.tenant, item.name)
                    if domain is not None:
                        store.schedule(item.tenant, domain, now + QUEUED_LEASE)
                done += len(due)
            if after is None:
                break
        queued += done
    return queued


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    queued = dispatch_due()
    metrics.add_metric(name="ScansQueued", unit=MetricUnit.Count, value=queued)
    logger.info("dispatched", extra={"queued": queued})
    return {"queued": queued}
