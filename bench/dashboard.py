"""Dashboard summary latency at 1,000 and 10,000 domains, over in-process moto through the ASGI app.

For each size: the portfolio is inserted through `store.domains.insert_domains` (with the counters the
writers keep) and given scan summaries and folders/tags through the same writers as the API (setup, timed
apart); then `GET /v1/dashboard/summary` is asked 200 times (the environment, a folder, a tag) and its
p50/p95 printed beside, in the same run, `GET /v1/domains?limit=25` (the cheapest list call) and the time of
one brute-force recomputation from every domain item (what a summary without counters would read).
The summary should not grow with the portfolio: its p95 at 10,000 close to its p95 at 1,000.

Figures are wall-clock on this machine, moto included; compare the ratios of one run.
Usage: .venv/bin/python bench/dashboard.py [sizes...]
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
for name, value in {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "1",
    "POWERTOOLS_METRICS_NAMESPACE": "DmarcwatchBench",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "DMARCWATCH_TABLE_NAME": "dmarcwatch-bench-dashboard",
}.items():
    os.environ[name] = value

SIZES = (1_000, 10_000)
CALLS = 200
GATEWAYS = ["Google Workspace", "Microsoft 365", "Mimecast", "Proofpoint", "none"]
DMARC = ["reject", "quarantine", "none", "missing"]
SPF = ["valid", "valid", "valid", "over_limit", "missing", "invalid"]


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    from moto import mock_aws

    from dmarcwatch.local import moto_responses, moto_transactions

    sizes = [int(a) for a in sys.argv[1:]] or list(SIZES)
    moto_transactions.apply()
    moto_responses.apply()
    lines = []
    with mock_aws():
        for size in sizes:
            lines += run(size)
    sys.stdout.write("\n".join(lines) + "\n")


def _portfolio(size: int) -> tuple[object, object, str, str, float]:
    """An account with `size` scanned domains in folders and tags; (client, headers, folder, tag, seconds)."""
    from fastapi.testclient import TestClient

    from dmarcwatch.api.app import create_app
    from dmarcwatch.ids import IdPrefix, new_id, random_base62
    from dmarcwatch.local.bootstrap import bootstrap
    from dmarcwatch.models import Domain, Environment, Tenant, utcnow
    from dmarcwatch.plans import PlanName
    from dmarcwatch.services import admin, folders
    from dmarcwatch.services.domain_fields import FieldChange, update_domain
    from dmarcwatch.store import aws, db
    from dmarcwatch.store import domains as domain_store
    from dmarcwatch.store import facets as facet_store

    aws.reset()
    bootstrap()
    started = time.perf_counter()
    created = admin.create_account(
        f"bench-{size}-{time.time_ns()}@example.com", PlanName.ENTERPRISE, None, 365
    )
    tenant = Tenant(account_id=created.account.id, environment=Environment.LIVE)
    rng = random.Random(size)
    now = utcnow()
    domains = [
        Domain(
            id=new_id(IdPrefix.DOMAIN),
            name=f"d{i:06}.example",
            unicode_name=f"d{i:06}.example",
            created_at=now,
            updated_at=now,
            verification_token=random_base62(24),
        )
        for i in range(size)
    ]
    domain_store.insert_domains(tenant, domains, size)
    # Scan summaries through the same counter moves a scan makes (portfolio_metrics), in batches.
    for domain in domains:
        scanned = domain.model_copy(
            update={
                "email_gateway": rng.choice(GATEWAYS),
                "dmarc_status": rng.choice(DMARC),
                "spf_status": rng.choice(SPF),
                "last_scan_at": now,
            }
        )
        summary = {k: getattr(scanned, k) for k in ("email_gateway", "dmarc_status", "spf_status")}
        db.transact(
            [
                {
                    "Update": {
                        "TableName": db.table().name,
                        "Key": db.to_wire(
                            db.key(f"TENANT#{tenant.account_id}#live", f"DOMAIN#{domain.name}")
                        ),
                        "UpdateExpression": "SET email_gateway = :g, dmarc_status = :d, spf_status = :s, "
                        "last_scan_at = :at",
                        "ExpressionAttributeValues": db.to_wire(
                            {
                                ":g": summary["email_gateway"],
                                ":d": summary["dmarc_status"],
                                ":s": summary["spf_status"],
                                ":at": db.ts(now),
                            }
                        ),
                    }
                },
                *facet_store.change_items(tenant, [(domain, scanned)]),
            ]
        )
    folder = folders.create(tenant, "Brands")
    for domain in rng.sample(domains, size // 5):
        update_domain(tenant, domain.name, FieldChange(set_fields={"folder_id": folder.id}))
    for domain in rng.sample(domains, size // 10):
        update_domain(tenant, domain.name, FieldChange(add_tags=("eu",)))
    client = TestClient(create_app(), raise_server_exceptions=True)
    headers = {"Authorization": f"Bearer {created.live_key.secret}"}
    return client, headers, folder.id, "eu", time.perf_counter() - started


def _timed(call: object, times: int) -> list[float]:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        response = call()  # type: ignore[operator]
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
    return samples


def run(size: int) -> list[str]:
    from dmarcwatch.models import Environment, Tenant
    from dmarcwatch.store import domains as domain_store

    client, headers, folder, tag, setup = _portfolio(size)
    scopes = [{}, {"folder_id": folder}, {"tag": tag}]
    summary = _timed(
        lambda: client.get("/v1/dashboard/summary", headers=headers, params=random.choice(scopes)),  # type: ignore[attr-defined]
        CALLS,
    )
    listing = _timed(lambda: client.get("/v1/domains", headers=headers, params={"limit": 25}), CALLS)  # type: ignore[attr-defined]
    account_id = client.get("/v1/account", headers=headers).json()["data"]["id"]  # type: ignore[attr-defined]
    started = time.perf_counter()
    everything = domain_store.all_domains(Tenant(account_id=account_id, environment=Environment.LIVE))
    Counter(d.dmarc_status for d in everything)
    brute = time.perf_counter() - started
    total = client.get("/v1/dashboard/summary", headers=headers).json()["data"]["total_domains"]  # type: ignore[attr-defined]
    assert total == size, total
    ms = 1000
    return [
        f"dashboard summary, {size:,} domains (setup {setup:.1f} s; {CALLS} calls each, in-process moto)",
        f"  GET /v1/dashboard/summary  p50 {statistics.median(summary) * ms:.1f} ms  "
        f"p95 {percentile(summary, 0.95) * ms:.1f} ms   (environment, a folder, a tag)",
        f"  GET /v1/domains?limit=25   p50 {statistics.median(listing) * ms:.1f} ms  "
        f"p95 {percentile(listing, 0.95) * ms:.1f} ms   (reference in the same run)",
        f"  brute force (read every domain item once): {brute * ms:.0f} ms   "
        f"(what a summary without counters would cost: {brute / statistics.median(summary):.0f}x the p50)",
    ]


if __name__ == "__main__":
    main()
