"""What each function may touch in the table and in the raw bucket (review L4: isolation beyond the code).

Every tenant item's partition key starts with `TENANT#<account>#<environment>`; the other partitions hold
what authentication, routing and rate limiting need (`KEYHASH#`, `ACCOUNT#`, `EMAIL#`, `INBOUND#`, `RATE#`,
`IPINFO#`, `UNROUTED`). Each function's role allows item reads and item writes only on the partitions the
code it runs touches, by a `dynamodb:LeadingKeys` condition (`ForAllValues:StringLike` over the partition
key of every item of the request, batch and transaction items included). So a bug in the reports API can
neither write an API key nor change an account's plan, and no function but `account` can mint a key
(`KEYHASH#` items) at all; nothing but the admin CLI (operator credentials) writes `ACCOUNT#`, `EMAIL#` or
`INBOUND#`.

What this does not do: tell one tenant's `TENANT#` partition from another's. That needs the tenant in
the credentials (per-request session policies), which Lambda execution roles do not have; tenancy stays
enforced by the key builders of `dmarcwatch.table`.

Index queries (`Query` on a GSI, read only) are granted per index by name and without a LeadingKeys
condition: the index partition keys (`DOMAINNAME#`, `SCANDUE#`, `<tenant>#REPORTS`, …) are not table
partition keys.

The partition key patterns are derived from the key builders of `dmarcwatch.table` (never spelled out
here), and tests/infra/test_access.py replays each function's code paths over moto and checks every
DynamoDB and S3 request against the synthesized policy, so a new key family or object prefix that a
function starts to use fails the tests instead of failing in AWS.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from dmarcwatch import table as t
from dmarcwatch.api.registry import FunctionGroup, Resource, ScheduledFunction, WorkerFunction
from dmarcwatch.store.rdap_bootstrap import PREFIX as RDAP_BOOTSTRAP_PREFIX

_SENTINEL = "\x00"


def pk_pattern(builder: Callable[..., str]) -> str:
    """The IAM `StringLike` pattern of every partition key `builder` makes: its fixed prefix + `*`."""
    arguments = [_SENTINEL] * len(inspect.signature(builder).parameters)
    built = builder(*arguments)
    prefix, found, _ = built.partition(_SENTINEL)
    if not found or not prefix:
        raise ValueError(f"{builder.__name__} does not build a key with a fixed prefix: {built!r}")
    return f"{prefix}*"


# Partition key families (IAM StringLike patterns).
TENANT = pk_pattern(t.tenant_pk)  # every tenant item (domains, keys' tenant copies, reports, stats, ...)
ACCOUNT = pk_pattern(t.account_pk)
EMAIL = pk_pattern(t.email_pk)
KEYHASH = pk_pattern(t.key_hash_pk)  # what authentication reads: a key item here is a credential
INBOUND = pk_pattern(t.inbound_pk)
IPINFO = pk_pattern(t.ip_info_pk)
RATE = pk_pattern(t.rate_pk)
UNROUTED = t.UNROUTED_PK  # the operator's quarantine (mail no account could be found for)
PARTITIONS = frozenset({TENANT, ACCOUNT, EMAIL, KEYHASH, INBOUND, IPINFO, RATE, UNROUTED})

# Item actions. ConditionCheckItem (transactions only) reads; BatchWriteItem puts and deletes.
READ_ACTIONS = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:ConditionCheckItem")
WRITE_ACTIONS = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem")
INDEX_ACTIONS = ("dynamodb:Query",)


@dataclass(frozen=True)
class TableAccess:
    read: frozenset[str]
    write: frozenset[str] = frozenset()
    # GSIs it may query, by name.
    indexes: frozenset[str] = frozenset()
    read_actions: tuple[str, ...] = READ_ACTIONS
    write_actions: tuple[str, ...] = WRITE_ACTIONS

    def __post_init__(self) -> None:
        unknown = (self.read | self.write) - PARTITIONS
        if unknown:
            raise ValueError(f"unknown partition patterns {sorted(unknown)}")
        known_indexes = {index.name for index in t.TABLE.indexes}
        if not self.indexes <= known_indexes:
            raise ValueError(f"unknown indexes {sorted(self.indexes - known_indexes)}")

    def plus(
        self,
        *,
        read: frozenset[str] = frozenset(),
        write: frozenset[str] = frozenset(),
        indexes: frozenset[str] = frozenset(),
    ) -> TableAccess:
        return TableAccess(self.read | read, self.write | write, self.indexes | indexes)


# Every API request (except the public health check) authenticates: it reads the key by hash and the
# account (`dmarcwatch.auth.principal.authenticate`), records the key's last use on its tenant copy
# (`touch_key`, an UpdateItem under TENANT#) and counts the call (`auth.ratelimit`: RATE# items, also for
# failed authentications per IP).
API_REQUEST = TableAccess(read=frozenset({KEYHASH, ACCOUNT, RATE}), write=frozenset({TENANT, RATE}))

# By FunctionGroup.name.
API_TABLE_ACCESS: Mapping[str, TableAccess] = {
    # GET / : authentication only.
    "meta": API_REQUEST,
    # The account summary (domain counter under TENANT#, RATE# counters), and API keys: the tenant copy
    # and the KEYHASH# copy authentication reads, created and revoked together. The only function that
    # may write KEYHASH#.
    "account": API_REQUEST.plus(read=frozenset({TENANT}), write=frozenset({KEYHASH})),
    # Domains, scans, changes, verification events: all under TENANT#; the scan interval reads the
    # account's plan.
    "domains": API_REQUEST.plus(read=frozenset({TENANT})),
    # Reports, records, statistics, sources, quarantine, upload jobs (TENANT#; report and quarantine
    # listings on gsi1). Uploads and reprocessing are queued for the parser, which runs the pipeline; report
    # records and sources are enriched from the shared IPINFO# cache, which the function fills.
    "reports": API_REQUEST.plus(
        read=frozenset({TENANT, IPINFO}), write=frozenset({IPINFO}), indexes=frozenset({"gsi1"})
    ),
    # Export items and the tenant's export slots (TENANT#; the listing on gsi1); a request's domain or
    # folder is looked up under TENANT#.
    "exports": API_REQUEST.plus(read=frozenset({TENANT}), indexes=frozenset({"gsi1"})),
}

# The TOKEN authorizer: reads the key by hash and the account, records the key's last use.
AUTHORIZER_TABLE_ACCESS = TableAccess(
    read=frozenset({KEYHASH, ACCOUNT}),
    write=frozenset({TENANT}),
    read_actions=("dynamodb:GetItem",),
    write_actions=("dynamodb:UpdateItem",),
)

# By WorkerFunction.name.
WORKER_TABLE_ACCESS: Mapping[str, TableAccess] = {
    # The ingestion pipeline, for mail and for the uploads and reprocessing runs the API queues: recipients
    # (INBOUND#, ACCOUNT#), shared-address routing (gsi1), reports, aggregates and jobs (TENANT#), the
    # monthly report counter (RATE#), the operator's quarantine (UNROUTED).
    "parser": TableAccess(
        read=frozenset({TENANT, ACCOUNT, INBOUND, UNROUTED}),
        write=frozenset({TENANT, RATE, UNROUTED}),
        indexes=frozenset({"gsi1"}),
    ),
    # Scans, changes, events, the schedule and the domain's queue lease under TENANT#; the scan interval
    # reads the account's plan; tenants' requested scans count against a per-account rate (RATE#).
    "scanner": TableAccess(read=frozenset({TENANT, ACCOUNT}), write=frozenset({TENANT, RATE})),
    # An export run reads what the list endpoints read (domains, scans, changes, statistics under TENANT#;
    # reports on gsi1; sources enriched from and into the IPINFO# cache) and writes its export item, its
    # event and the tenant's export slots (TENANT#).
    "exporter": TableAccess(
        read=frozenset({TENANT, IPINFO}), write=frozenset({TENANT, IPINFO}), indexes=frozenset({"gsi1"})
    ),
    # RDAP lookups: the domain and its WHOIS item under TENANT# (the outcome, its schedule and the
    # domain.expiring event in one transaction, a condition check on the domain), each RDAP server's
    # requests of the minute (RATE#rdap:<host>).
    "whois": TableAccess(read=frozenset({TENANT}), write=frozenset({TENANT, RATE})),
}

# By ScheduledFunction.name.
SCHEDULED_TABLE_ACCESS: Mapping[str, TableAccess] = {
    # Due domains from gsi2, their accounts' subscription status (batch reads of ACCOUNT#: canceled accounts
    # are not scanned), then each domain's lease or deferral (conditional updates under TENANT#).
    "dispatcher": TableAccess(
        read=frozenset({TENANT, ACCOUNT}),
        write=frozenset({TENANT}),
        indexes=frozenset({"gsi2"}),
        read_actions=("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"),
        write_actions=("dynamodb:UpdateItem",),
    ),
    # Every account (gsi1 ACCOUNTS), each tenant's domains, statistics, facet members and counters (reads
    # under TENANT#), conditional corrections of counters and members, the tenant's reconciled_at.
    "reconciler": TableAccess(
        read=frozenset({TENANT}),
        write=frozenset({TENANT}),
        indexes=frozenset({"gsi1"}),
        read_actions=("dynamodb:GetItem", "dynamodb:Query", "dynamodb:ConditionCheckItem"),
        write_actions=("dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:DeleteItem"),
    ),
    # The WHOIS items due (gsi2), their accounts' subscription status, each item's lease (conditional
    # updates under TENANT#).
    "whois_scheduler": TableAccess(
        read=frozenset({ACCOUNT}),
        write=frozenset({TENANT}),
        indexes=frozenset({"gsi2"}),
        read_actions=("dynamodb:BatchGetItem",),
        write_actions=("dynamodb:UpdateItem",),
    ),
}


# --- the raw bucket -------------------------------------------------------------------------------------

# Where SES writes each received mail; the S3 notification to the ingest queue filters on it.
RAW_MAIL_PREFIX = "inbound/raw/"
# API uploads (written by the reports API function).
UPLOAD_PREFIX = "inbound/api/"
# Raw input: mail and uploads, the input of every reprocessing.
INBOUND_PREFIX = "inbound/"
# Parsed reports (JSON, gzip), served by presigned URL.
PAYLOAD_PREFIX = "payloads/"
# Short-lived computed snapshots (source rankings the API pages through); expired by the lifecycle.
CACHE_PREFIX = "cache/"
# Export files, in the exports bucket (written by the export worker, presigned by the exports API).
EXPORTS_PREFIX = "exports/"


@dataclass(frozen=True)
class BucketAccess:
    """Object key prefixes of the raw bucket (each granted as `<prefix>*`)."""

    read: tuple[str, ...]  # GetObject (presigned GET URLs are signed with it too)
    write: tuple[str, ...] = ()  # PutObject
    tag: tuple[str, ...] = ()  # PutObjectTagging: the short-retention tag of the lifecycle rule
    delete: tuple[str, ...] = ()  # DeleteObject (a delete marker: the bucket is versioned)
    prefixes: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        all_prefixes = {*self.read, *self.write, *self.tag, *self.delete}
        object.__setattr__(self, "prefixes", tuple(sorted(all_prefixes)))


# By function name, for every function whose registry entry names Resource.RAW_BUCKET.
RAW_BUCKET_ACCESS: Mapping[str, BucketAccess] = {
    # Uploads into inbound/api/ (the parser ingests them), presigned downloads of a report's raw input and
    # payload, source ranking snapshots under cache/. No s3:ListBucket (it would list every tenant's
    # keys): a missing snapshot is answered 403, not 404.
    "reports": BucketAccess(
        read=(INBOUND_PREFIX, PAYLOAD_PREFIX, CACHE_PREFIX), write=(UPLOAD_PREFIX, CACHE_PREFIX)
    ),
    # The pipeline: raw input (mail, uploads) in, payload out; raw input that no account took, spam and
    # viruses get the short-retention tag the lifecycle rule expires. Purging a deleted domain deletes its
    # reports' payloads (raw mail stays: one mail can hold several domains' reports).
    "parser": BucketAccess(
        read=(INBOUND_PREFIX,), write=(PAYLOAD_PREFIX,), tag=(INBOUND_PREFIX,), delete=(PAYLOAD_PREFIX,)
    ),
    # The sources dataset ranks a domain's sources as the sources endpoint does: its snapshots under cache/.
    "exporter": BucketAccess(read=(CACHE_PREFIX,), write=(CACHE_PREFIX,)),
    # IANA's RDAP bootstrap, fetched at most weekly and shared by every WHOIS worker.
    "whois": BucketAccess(read=(RDAP_BOOTSTRAP_PREFIX,), write=(RDAP_BOOTSTRAP_PREFIX,)),
}


def table_access_of(entry: FunctionGroup | WorkerFunction | ScheduledFunction) -> TableAccess:
    maps: dict[type, Mapping[str, TableAccess]] = {
        FunctionGroup: API_TABLE_ACCESS,
        WorkerFunction: WORKER_TABLE_ACCESS,
        ScheduledFunction: SCHEDULED_TABLE_ACCESS,
    }
    access = maps[type(entry)].get(entry.name)
    if access is None:
        raise KeyError(
            f"{type(entry).__name__} {entry.name!r} has no table access in infra/constructs/access.py: "
            "add the partitions its code reads and writes"
        )
    return access


def bucket_access_of(name: str, resources: frozenset[Resource]) -> BucketAccess | None:
    if Resource.RAW_BUCKET not in resources:
        return None
    access = RAW_BUCKET_ACCESS.get(name)
    if access is None:
        raise KeyError(
            f"function {name!r} names Resource.RAW_BUCKET but has no entry in RAW_BUCKET_ACCESS "
            "(infra/constructs/access.py): add the object prefixes it reads, writes and tags"
        )
    return access
