"""The function registry: which routers each API Lambda serves (design.md §3).

This is the one list of endpoints. The local app mounts every group, each Lambda mounts its own group,
and the CDK stack creates the API Gateway resources, methods and functions by reading `route_specs()`.
Adding an endpoint is adding a route to a router; adding a group is one entry here plus its
`functions/api_<group>/handler.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from importlib import import_module

from fastapi import APIRouter
from fastapi.routing import APIRoute

API_PREFIX = "/v1"


class Resource(StrEnum):
    """What a function may touch besides the table (the CDK stack grants exactly these)."""

    RAW_BUCKET = "raw_bucket"  # read/write raw mail and payloads, presign downloads
    INGEST_QUEUE = "ingest_queue"  # send (uploads, reprocessing) and consume (parser) ingestion messages
    SCAN_QUEUE = "scan_queue"  # send (API, dispatcher) and consume (scanner) domain scan requests
    EXPORT_QUEUE = "export_queue"  # send (API) and consume (export worker) export runs
    WHOIS_QUEUE = "whois_queue"  # send (API, schedule) and consume (WHOIS worker) RDAP lookups
    EXPORTS_BUCKET = "exports_bucket"  # write export files (worker), presign their downloads (API)


@dataclass(frozen=True)
class FunctionGroup:
    name: str
    # Modules under dmarcwatch.api.routers, each exposing `router`.
    router_modules: tuple[str, ...]
    description: str
    memory_mb: int = 512
    timeout_seconds: int = 29
    resources: frozenset[Resource] = frozenset()

    @property
    def function_dir(self) -> str:
        """The folder under functions/ holding this group's thin handler."""
        return f"api_{self.name}"


FUNCTION_GROUPS: tuple[FunctionGroup, ...] = (
    FunctionGroup("meta", ("meta",), "Health and API index"),
    FunctionGroup("account", ("account", "keys", "events"), "Account, API keys and the event log"),
    FunctionGroup(
        "domains",
        ("domains", "dns", "whois", "folders", "dashboard"),
        "Monitored domains, DNS scans and change history, WHOIS",
        # Removing a domain queues the deletion of its data for the parser worker; adding one and
        # refresh_whois queue RDAP lookups for the WHOIS worker.
        resources=frozenset({Resource.SCAN_QUEUE, Resource.INGEST_QUEUE, Resource.WHOIS_QUEUE}),
    ),
    FunctionGroup(
        "reports",
        ("reports", "statistics", "quarantine"),
        "Reports, statistics, sources and quarantine",
        memory_mb=1024,
        # Uploads and reprocessing are stored in the raw bucket and queued for the parser worker.
        resources=frozenset({Resource.RAW_BUCKET, Resource.INGEST_QUEUE}),
    ),
    FunctionGroup(
        "exports",
        ("exports",),
        "Exports of domains, scans, changes, reports and statistics",
        # Queues export runs; presigns downloads of the files (and deletes them with their export).
        resources=frozenset({Resource.EXPORT_QUEUE, Resource.EXPORTS_BUCKET}),
    ),
)


@dataclass(frozen=True)
class WorkerFunction:
    """A Lambda fed by a queue (not by API Gateway): `functions/<name>/handler.py`."""

    name: str
    description: str
    trigger: Resource
    memory_mb: int
    timeout_seconds: int
    batch_size: int
    resources: frozenset[Resource]
    # "module:attribute" of the handler; functions/<name>/handler.py re-exports it.
    handler: str

    @property
    def function_dir(self) -> str:
        return self.name


WORKER_FUNCTIONS: tuple[WorkerFunction, ...] = (
    WorkerFunction(
        "parser",
        "DMARC/TLS report ingestion from the inbound queue",
        trigger=Resource.INGEST_QUEUE,
        # Real reports reach 100,000 records (tens of MB of XML): room to stream, store and aggregate.
        memory_mb=2048,
        timeout_seconds=300,
        batch_size=5,
        resources=frozenset({Resource.RAW_BUCKET, Resource.INGEST_QUEUE}),
        handler="dmarcwatch.ingest.worker:handler",
    ),
    WorkerFunction(
        "scanner",
        "DNS scans of domains from the scan queue",
        trigger=Resource.SCAN_QUEUE,
        memory_mb=512,
        timeout_seconds=120,
        batch_size=5,
        resources=frozenset({Resource.SCAN_QUEUE}),
        handler="dmarcwatch.scanning.worker:handler",
    ),
    WorkerFunction(
        "whois",
        "WHOIS of domains over RDAP, from the WHOIS queue",
        trigger=Resource.WHOIS_QUEUE,
        memory_mb=256,
        # A batch's lookups run concurrently, each within rdap_lookup_deadline_seconds (20 s by default).
        timeout_seconds=120,
        batch_size=10,
        # Sends its own retries (after a 429, delayed); keeps IANA's RDAP bootstrap in the raw bucket.
        resources=frozenset({Resource.WHOIS_QUEUE, Resource.RAW_BUCKET}),
        handler="dmarcwatch.whois.worker:handler",
    ),
    WorkerFunction(
        "exporter",
        "Export files: dataset pages streamed into an S3 multipart upload",
        trigger=Resource.EXPORT_QUEUE,
        # Memory stays at about one 8 MiB part plus a page of rows; the time is what a million rows take.
        memory_mb=1024,
        timeout_seconds=900,
        batch_size=1,
        # The sources dataset reads the ranking snapshots the sources endpoint keeps in the raw bucket.
        resources=frozenset({Resource.EXPORT_QUEUE, Resource.EXPORTS_BUCKET, Resource.RAW_BUCKET}),
        handler="dmarcwatch.services.export_worker:handler",
    ),
)


@dataclass(frozen=True)
class ScheduledFunction:
    """A Lambda run on a schedule (EventBridge in AWS, the local scheduler in `make dev`)."""

    name: str
    description: str
    rate_minutes: int
    memory_mb: int
    timeout_seconds: int
    resources: frozenset[Resource]
    handler: str

    @property
    def function_dir(self) -> str:
        return self.name


SCHEDULED_FUNCTIONS: tuple[ScheduledFunction, ...] = (
    ScheduledFunction(
        "dispatcher",
        "Finds domains due for a rescan (interval per plan) and queues them",
        rate_minutes=15,
        memory_mb=256,
        timeout_seconds=120,
        resources=frozenset({Resource.SCAN_QUEUE}),
        handler="dmarcwatch.scanning.dispatcher:handler",
    ),
    ScheduledFunction(
        "reconciler",
        "Recomputes each tenant's portfolio counters and facet index once a day and repairs drift",
        rate_minutes=60,
        memory_mb=512,
        timeout_seconds=900,
        # Purging a domain removed 30 days ago queues the deletion of its data for the parser worker.
        resources=frozenset({Resource.INGEST_QUEUE}),
        handler="dmarcwatch.services.reconciler:handler",
    ),
    ScheduledFunction(
        "whois_scheduler",
        "Finds domains whose WHOIS is due for its weekly refresh and queues them",
        rate_minutes=15,
        memory_mb=256,
        timeout_seconds=120,
        resources=frozenset({Resource.WHOIS_QUEUE}),
        handler="dmarcwatch.whois.scheduler:handler",
    ),
)


@dataclass(frozen=True)
class RouteSpec:
    group: str
    method: str
    # Relative to the API base path (the API Gateway stage `v1`), e.g. "/domains/{id}".
    path: str
    public: bool
    name: str


def group_named(name: str) -> FunctionGroup:
    for group in FUNCTION_GROUPS:
        if group.name == name:
            return group
    raise KeyError(name)


def routers_for(group: FunctionGroup) -> list[APIRouter]:
    return [import_module(f"dmarcwatch.api.routers.{m}").router for m in group.router_modules]


def is_public(route: APIRoute) -> bool:
    """Public routes are the ones that do not depend on the authenticated principal."""
    return bool((route.openapi_extra or {}).get("x-public"))


def route_specs() -> list[RouteSpec]:
    specs: list[RouteSpec] = []
    for group in FUNCTION_GROUPS:
        for router in routers_for(group):
            for route in router.routes:
                assert isinstance(route, APIRoute)
                for method in sorted(route.methods or ()):
                    specs.append(RouteSpec(group.name, method, route.path, is_public(route), route.name))
    return specs
