"""The single DynamoDB table, defined once.

The CDK stack, the local bootstrap and the tests all build the table from `TABLE`; the store module
builds every key with the helpers below, so the item layout documented in docs/architecture.md lives in
one place.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class IndexDef:
    name: str
    partition_key: str
    sort_key: str


@dataclass(frozen=True)
class TableDef:
    partition_key: str
    sort_key: str
    ttl_attribute: str
    indexes: tuple[IndexDef, ...] = field(default_factory=tuple)

    def create_table_kwargs(self, table_name: str) -> dict[str, Any]:
        """Arguments for boto3 `create_table` (local stack and tests)."""
        attrs = {self.partition_key, self.sort_key}
        for index in self.indexes:
            attrs |= {index.partition_key, index.sort_key}
        return {
            "TableName": table_name,
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in sorted(attrs)],
            "KeySchema": [
                {"AttributeName": self.partition_key, "KeyType": "HASH"},
                {"AttributeName": self.sort_key, "KeyType": "RANGE"},
            ],
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": index.name,
                    "KeySchema": [
                        {"AttributeName": index.partition_key, "KeyType": "HASH"},
                        {"AttributeName": index.sort_key, "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
                for index in self.indexes
            ],
        }


TABLE = TableDef(
    partition_key="pk",
    sort_key="sk",
    ttl_attribute="expires_at_epoch",
    indexes=(
        IndexDef(name="gsi1", partition_key="gsi1pk", sort_key="gsi1sk"),
        # Sparse: only active domains carry gsi2 keys, so the rescan dispatcher reads exactly what is due.
        IndexDef(name="gsi2", partition_key="gsi2pk", sort_key="gsi2sk"),
    ),
)


# --- key builders -------------------------------------------------------------------------------------
# Every tenant item's partition key starts with the account and the environment, so a request scoped to
# one tenant cannot address another tenant's items by construction.


def tenant_pk(account_id: str, environment: str) -> str:
    return f"TENANT#{account_id}#{environment}"


def account_pk(account_id: str) -> str:
    return f"ACCOUNT#{account_id}"


ACCOUNT_SK = "ACCOUNT"
TENANT_META_SK = "META"
ACCOUNTS_INDEX_PK = "ACCOUNTS"


def email_pk(email: str) -> str:
    return f"EMAIL#{email.lower()}"


def key_hash_pk(key_hash: str) -> str:
    return f"KEYHASH#{key_hash}"


KEY_HASH_SK = "KEYHASH"


def key_sk(key_id: str) -> str:
    return f"KEY#{key_id}"


# Under the tenant's partition: the ids and expiry of its active keys, and a version that every key
# creation and revocation advances conditionally (the atomic cap on active keys, review M3).
KEY_SLOTS_SK = "KEYSLOTS"


def domain_sk(name: str) -> str:
    return f"DOMAIN#{name}"


def domain_id_sk(domain_id: str) -> str:
    return f"DOMAINID#{domain_id}"


def inbound_pk(token: str) -> str:
    return f"INBOUND#{token}"


INBOUND_SK = "INBOUND"


def domain_name_index_pk(name: str) -> str:
    """gsi1 partition holding every tenant's item for one domain name (shared-address routing)."""
    return f"DOMAINNAME#{name}"


def report_sk(report_id: str) -> str:
    return f"REPORT#{report_id}"


def reports_index_pk(account_id: str, environment: str) -> str:
    return f"{tenant_pk(account_id, environment)}#REPORTS"


def records_pk(account_id: str, environment: str, report_id: str) -> str:
    return f"{tenant_pk(account_id, environment)}#RECORDS#{report_id}"


def stats_pk(account_id: str, environment: str, domain_id: str) -> str:
    """Per-domain daily statistics: one partition per domain, one item per day (sk = YYYY-MM-DD)."""
    return f"{tenant_pk(account_id, environment)}#STATS#{domain_id}"


SOURCE_SHARDS = 8


def source_shard(ip: str) -> int:
    return zlib.crc32(ip.encode()) % SOURCE_SHARDS


def sources_pk(account_id: str, environment: str, domain_id: str, day: str, shard: int) -> str:
    """Legacy per-domain per-day sources, one counter item per IP (sk = the IP), over 8 keys by IP.

    Written by ingestion before per-report source items (`report_sources_pk`); still read and purged, no
    longer written.
    """
    return f"{tenant_pk(account_id, environment)}#SOURCES#{domain_id}#{day}#{shard}"


def report_sources_pk(account_id: str, environment: str, domain_id: str, day: str) -> str:
    """Per-domain per-day sources as each report counted them: one partition per domain and day, a few
    items per report (sk = `report_sources_sk`), each holding many IPs' counters; readers merge them."""
    return f"{tenant_pk(account_id, environment)}#DAYSOURCES#{domain_id}#{day}"


def report_sources_sk(report_id: str, part: int) -> str:
    return f"{report_id}#{part:04d}"


def applied_pk(account_id: str, environment: str, report_id: str) -> str:
    """Markers of the aggregate batches a report has applied (sk = batch number), one item each, so
    exactly-once accounting never grows the statistics items themselves (review H1)."""
    return f"{tenant_pk(account_id, environment)}#APPLIED#{report_id}"


def ingest_job_sk(job_id: str) -> str:
    """An upload or a reprocessing run, under the tenant's partition (`GET /v1/uploads/{id}`)."""
    return f"JOB#{job_id}"


def quarantine_sk(quarantine_id: str) -> str:
    return f"QUARANTINE#{quarantine_id}"


def quarantine_index_pk(owner: str) -> str:
    return f"{owner}#QUARANTINE"


UNROUTED_PK = "UNROUTED"


def ip_info_pk(ip: str) -> str:
    return f"IPINFO#{ip}"


SCAN_SHARDS = 8


def scan_due_pk(shard: int) -> str:
    """gsi2 partition of domains due for a rescan; spread over shards so no single key runs hot."""
    return f"SCANDUE#{shard}"


def scan_shard(account_id: str, environment: str, name: str) -> int:
    digest = hashlib.sha256(f"{account_id}#{environment}#{name}".encode()).digest()
    return digest[0] % SCAN_SHARDS


def scan_schedule(account_id: str, environment: str, name: str, at: str) -> dict[str, str]:
    """The attributes that put a domain item on the rescan schedule (sparse gsi2), due at `at` (ISO)."""
    return {
        "gsi2pk": scan_due_pk(scan_shard(account_id, environment, name)),
        "gsi2sk": f"{at}#{account_id}#{environment}#{name}",
        "next_scan_at": at,
    }


def scan_sk(domain_id: str) -> str:
    return f"SCAN#{domain_id}"


def changes_pk(account_id: str, environment: str, domain_id: str) -> str:
    return f"{tenant_pk(account_id, environment)}#CHANGES#{domain_id}"


# --- portfolio: folders, and the facet index of the domain list's filters ---------------------------------


def folder_sk(folder_id: str) -> str:
    return f"FOLDER#{folder_id}"


def folder_name_sk(name: str) -> str:
    """The lock that makes folder names unique per tenant, case-insensitively."""
    return f"FOLDERNAME#{name.casefold()}"


def facet_pk(account_id: str, environment: str, facet: str) -> str:
    """One partition per facet value (`folder:<id>`, `folder:none`, `tag:<tag>`, `favorite:true`, …), an item
    per member domain (sk = its name): the index the filtered domain list reads instead of the tenant."""
    return f"{tenant_pk(account_id, environment)}#FACET#{facet}"


def facet_count_sk(facet: str) -> str:
    """Under the tenant partition: how many domains a facet value holds (`domains`), kept in the same
    transactions as its members."""
    return f"FACETCOUNT#{facet}"


def dkim_selectors_sk(domain_id: str) -> str:
    return f"DKIMSEL#{domain_id}"


def rate_pk(subject: str) -> str:
    return f"RATE#{subject}"


def exports_pk(account_id: str, environment: str) -> str:
    """A tenant's exports (sk = `export_sk`); gsi1 lists them newest first (`exports_index_sk`)."""
    return f"{tenant_pk(account_id, environment)}#EXPORTS"


def export_sk(export_id: str) -> str:
    return f"EXPORT#{export_id}"


def exports_index_sk(created_at: str, export_id: str) -> str:
    return f"{created_at}#{export_id}"


# Under the tenant's partition: `active`, how many of its exports are queued or running, changed only with
# the export's own state changes (the atomic cap on concurrent exports).
EXPORT_SLOTS_SK = "EXPORTSLOTS"


def whois_sk(domain_id: str) -> str:
    """A domain's WHOIS/RDAP data and lookup state, under the tenant's partition."""
    return f"WHOIS#{domain_id}"


WHOIS_SHARDS = 4


def whois_due_pk(shard: int) -> str:
    """gsi2 partition of WHOIS items due for a refresh (the same sparse index as the rescans)."""
    return f"WHOISDUE#{shard}"


def whois_schedule(account_id: str, environment: str, domain_id: str, at: str) -> dict[str, str]:
    """The attributes that put a WHOIS item on the refresh schedule (sparse gsi2), due at `at` (ISO)."""
    digest = hashlib.sha256(f"{account_id}#{environment}#{domain_id}".encode()).digest()
    return {
        "gsi2pk": whois_due_pk(digest[0] % WHOIS_SHARDS),
        "gsi2sk": f"{at}#{account_id}#{environment}#{domain_id}",
        "next_refresh_at": at,
    }
