"""The local stack (`dmarcwatch local`, what `make dev` runs) under the loads of issues 13 and 14, over
HTTP on 127.0.0.1, each figure beside its target (issue 13 §4):
- a forged report covering 1970-2100: time from upload to its quarantine (issue 14: ≤ 1 s of pipeline
  work; the figure includes the queue hop);
- a gzipped 100,000-record report (about 50 MB of XML): the time to the 202, the time until it is stored
  and listed (≤ 120 s), `GET /v1/domains` latency while it ingests (p95 < 500 ms, asked every 0.25 s),
  and the time to page through every record;
- 20 clients reading account, domains, reports and keys for 10 s, on four accounts so no plan limit
  refuses them (≥ 100 requests/s at p95 ≤ 250 ms); then 20 clients on a free account (60 a minute) for
  5 s, nearly all answered 429 (a 429 must cost no more than a 200);
- a 500-domain bulk add in one call (< 5 s).
These machines are shared: compare figures within one run; the targets are printed, not asserted.
"""

from __future__ import annotations

import gzip
import math
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.local_stack import create_account, start_local_stack  # noqa: E402
from tests.support.reports import Row, aggregate_xml, large_aggregate_xml  # noqa: E402

RECORDS = int(os.environ.get("BENCH_RECORDS", "100000"))


def start() -> tuple[subprocess.Popen[str], dict[str, str]]:
    return start_local_stack(
        {
            "DMARCWATCH_DNS_NAMESERVERS": "127.0.0.1",
            "DMARCWATCH_DNS_PORT": "9",
            "POWERTOOLS_LOG_LEVEL": "ERROR",
        }
    )


def wait_job(
    api: httpx.Client, status_url: str, *, probe: bool = False
) -> tuple[dict[str, Any], list[float]]:
    latencies: list[float] = []
    while True:
        job: dict[str, Any] = api.get(status_url).json()["data"]
        if job["status"] != "pending":
            return job, latencies
        if probe:
            started = time.perf_counter()
            api.get("/domains?limit=25").raise_for_status()
            latencies.append(time.perf_counter() - started)
        time.sleep(0.25)


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def readers(api_url: str, keys: list[str], clients: int = 20, seconds: float = 10.0) -> str:
    """`clients` threads reading account, domains, reports and keys in turn for `seconds`, client i with
    keys[i % len(keys)]; the figures for all answers, then per status."""
    import threading

    paths = ["/account", "/domains?limit=25", "/reports?limit=25", "/keys"]
    latencies: dict[int, list[float]] = {}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(offset: int) -> None:
        headers = {"Authorization": f"Bearer {keys[offset % len(keys)]}"}
        with httpx.Client(base_url=api_url, headers=headers, timeout=30) as api:
            n = offset
            while time.monotonic() < deadline:
                started = time.perf_counter()
                status = api.get(paths[n % len(paths)]).status_code
                with lock:
                    latencies.setdefault(status, []).append(time.perf_counter() - started)
                n += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    every = [value for values in latencies.values() for value in values]
    parts = [
        f"{len(every) / elapsed:.0f} requests/s, p50 {statistics.median(every) * 1000:.0f} ms, "
        f"p95 {percentile(every, 0.95) * 1000:.0f} ms"
    ]
    for status, values in sorted(latencies.items()):
        parts.append(
            f"{status}: {len(values) / elapsed:.0f}/s p50 {statistics.median(values) * 1000:.0f} ms "
            f"p95 {percentile(values, 0.95) * 1000:.0f} ms"
        )
    return "; ".join(parts)


def fresh_account(ready: dict[str, str], name: str, plan: str = "enterprise", domains: int = 10) -> str:
    """A new account with `domains` domains; its live key."""
    key = create_account(ready["aws"], f"{name}@example.com", plan)["live_key"]
    with httpx.Client(base_url=ready["api"], headers={"Authorization": f"Bearer {key}"}, timeout=60) as api:
        names = [f"{name}-{i}.example" for i in range(domains)]
        api.post("/domains", json={"domains": names}).raise_for_status()
    return key


def main() -> None:
    process, ready = start()
    try:
        # The readers' accounts first: their domains' first scans run while the reports below ingest,
        # not during the read test.
        keys = [fresh_account(ready, f"reader{i}") for i in range(4)]
        limited = fresh_account(ready, "limited", plan="free", domains=1)
        key = create_account(ready["aws"], "bench@example.com", "enterprise")["live_key"]
        with httpx.Client(
            base_url=ready["api"], headers={"Authorization": f"Bearer {key}"}, timeout=120
        ) as api:
            api.post("/domains", json={"domains": ["big.example", "forged.example"]}).raise_for_status()

            forged = aggregate_xml("forged.example", [Row("192.0.2.1", 5)], begin=0, end=4_102_444_800)
            started = time.perf_counter()
            queued = api.post("/reports", content=forged).json()["data"]
            job, _ = wait_job(api, queued["status_url"].removeprefix("/v1"))
            print(
                f"forged 1970-2100 report: {job['status']} ({job['quarantined'][0]['reason']}) "
                f"{time.perf_counter() - started:.2f} s after upload"
            )

            idle = []
            for _ in range(20):
                started = time.perf_counter()
                api.get("/domains?limit=25").raise_for_status()
                idle.append(time.perf_counter() - started)
            print(f"GET /v1/domains idle: p50 {statistics.median(idle) * 1000:.0f} ms")

            xml = large_aggregate_xml("big.example", RECORDS)
            body = gzip.compress(xml, compresslevel=6)
            print(
                f"{RECORDS}-record report: {len(xml) / 1e6:.1f} MB of XML, {len(body) / 1e6:.1f} MB gzipped"
            )
            started = time.perf_counter()
            queued = api.post("/reports", content=body).json()["data"]
            accepted = time.perf_counter() - started
            job, latencies = wait_job(api, queued["status_url"].removeprefix("/v1"), probe=True)
            stored = time.perf_counter() - started
            print(
                f"  202 after {accepted:.2f} s; {job['status']} after {stored:.1f} s "
                "(target: listed within 120 s)"
            )
            if latencies:
                ordered = sorted(latencies)
                p95 = percentile(latencies, 0.95)
                print(
                    f"  GET /v1/domains while ingesting: {len(latencies)} calls, "
                    f"p50 {statistics.median(latencies) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
                    f"max {ordered[-1] * 1000:.0f} ms (target: p95 < 500 ms)"
                )
            started = time.perf_counter()
            seen, cursor = 0, None
            while True:
                params: dict[str, Any] = {"limit": 200, **({"cursor": cursor} if cursor else {})}
                page = api.get(f"/reports/{job['report_ids'][0]}", params=params).json()["data"]
                seen += len(page["records"])
                cursor = page["records_next_cursor"]
                if not cursor:
                    break
            print(f"  listed {seen} records in {time.perf_counter() - started:.1f} s")

        # Readers on four accounts (each plan counts its own requests per minute: at the target rate one
        # account would be refused after 1,000), then 20 clients on a free account (60 a minute), nearly
        # all refused: a 429 must cost no more than a 200.
        readers(ready["api"], keys, clients=4, seconds=1)  # warm-up: each route's first call builds its state
        print(f"20 clients reading for 10 s, 4 accounts: {readers(ready['api'], keys)}")
        print("  (target: >= 100 requests/s at p95 <= 250 ms)")
        print(f"20 clients on a free account for 5 s: {readers(ready['api'], [limited], seconds=5)}")

        # Last: the bulk add queues scans that would load the stack during the upload above.
        bulk = create_account(ready["aws"], "bulk@example.com", "enterprise")["live_key"]
        names = [f"bulk{i:03}.example" for i in range(500)]
        with httpx.Client(
            base_url=ready["api"], headers={"Authorization": f"Bearer {bulk}"}, timeout=120
        ) as api:
            started = time.perf_counter()
            api.post("/domains", json={"domains": names}).raise_for_status()
            print(f"bulk add of 500 domains: {time.perf_counter() - started:.2f} s (target: < 5 s)")
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)


if __name__ == "__main__":
    main()
