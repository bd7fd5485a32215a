"""Request and response models of folders, tags and the domain fields an account sets."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from dmarcwatch.domain_names import MAX_BULK
from dmarcwatch.models import Folder, iso
from dmarcwatch.services.domain_fields import MAX_TAGS, FieldChange

# Lowercased and trimmed; letters, digits and ` _ . : / -`, starting with a letter or digit.
Tag = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, min_length=1, max_length=40, pattern=r"^[^\W_][\w .:/-]*$"
    ),
]
FolderId = Annotated[str, StringConstraints(pattern=r"^fld_[A-Za-z0-9]{20}$")]
FolderName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Notes = Annotated[str, StringConstraints(max_length=10_000)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]

_FIELDS = ("folder_id", "is_favorite", "tags", "notes", "custom_label")


class DomainPatch(BaseModel):
    """PATCH /domains/{id}: the fields to change (at least one; unknown fields are refused). `null` clears
    `folder_id`, `notes` and `custom_label`; `tags` replaces the list."""

    model_config = ConfigDict(extra="forbid")

    folder_id: FolderId | None = Field(default=None, description="A folder id (fld_…), or null for none")
    is_favorite: bool | None = None
    tags: list[Tag] | None = Field(default=None, max_length=MAX_TAGS, description="1 to 40 characters each")
    notes: Notes | None = None
    custom_label: Label | None = None

    @model_validator(mode="after")
    def _something(self) -> DomainPatch:
        if not self.model_fields_set:
            raise ValueError(f"give at least one of {', '.join(_FIELDS)}")
        if "is_favorite" in self.model_fields_set and self.is_favorite is None:
            raise ValueError("is_favorite is true or false")
        return self

    def change(self) -> FieldChange:
        values: dict[str, Any] = {f: getattr(self, f) for f in self.model_fields_set}
        if values.get("tags") is None and "tags" in values:
            values["tags"] = []
        if "tags" in values:
            values["tags"] = list(dict.fromkeys(values["tags"]))
        return FieldChange(set_fields=values)


class DomainBulkUpdate(BaseModel):
    """POST /domains/bulk-update: one change for up to 500 domains (ids or names)."""

    model_config = ConfigDict(extra="forbid")

    ids: list[Annotated[str, StringConstraints(min_length=1, max_length=253)]] = Field(
        min_length=1, max_length=MAX_BULK, description="Domain ids (dom_…) or names"
    )
    folder_id: FolderId | None = Field(default=None, description="Move into this folder; null for none")
    is_favorite: bool | None = None
    tags: list[Tag] | None = Field(default=None, max_length=MAX_TAGS, description="Replace the tags")
    add_tags: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS)
    remove_tags: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS)
    custom_label: Label | None = None

    @model_validator(mode="after")
    def _something(self) -> DomainBulkUpdate:
        changes = self.model_fields_set - {"ids"}
        if not changes:
            raise ValueError(
                "give a change: folder_id, is_favorite, tags, add_tags, remove_tags or custom_label"
            )
        if "tags" in changes and (self.add_tags or self.remove_tags):
            raise ValueError("give tags (a replacement) or add_tags/remove_tags, not both")
        if "is_favorite" in changes and self.is_favorite is None:
            raise ValueError("is_favorite is true or false")
        return self

    def change(self) -> FieldChange:
        fields = self.model_fields_set & {"folder_id", "is_favorite", "tags", "custom_label"}
        values: dict[str, Any] = {f: getattr(self, f) for f in fields}
        if "tags" in values:
            values["tags"] = list(dict.fromkeys(values["tags"] or []))
        return FieldChange(
            set_fields=values,
            add_tags=tuple(dict.fromkeys(self.add_tags)),
            remove_tags=tuple(self.remove_tags),
        )


class BulkUpdateOut(BaseModel):
    submitted: int
    updated: int
    unchanged: int
    not_found: int
    failed: int = Field(description="Domains that kept changing concurrently (try them again)")
    not_found_ids: list[str]
    failed_ids: list[str]


class FolderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: FolderName = Field(description="1 to 100 characters, unique in the environment (any case)")


class FolderOut(BaseModel):
    id: str
    name: str
    domain_count: int
    created_at: str | None
    updated_at: str | None

    @classmethod
    def of(cls, folder: Folder) -> FolderOut:
        return cls(
            id=folder.id,
            name=folder.name,
            domain_count=folder.domain_count,
            created_at=iso(folder.created_at),
            updated_at=iso(folder.updated_at),
        )


class FolderDeleted(BaseModel):
    id: str
    deleted: bool
    domains_unfiled: int = Field(description="Domains taken out of the folder (they stay monitored)")


class TagOut(BaseModel):
    tag: str
    count: int = Field(description="Domains carrying the tag")


class Share(BaseModel):
    count: int
    percentage: float = Field(description="Of total_domains, one decimal")


class GatewayShare(Share):
    gateway_name: str


class DmarcDistribution(BaseModel):
    reject: Share
    quarantine: Share
    none: Share
    missing: Share = Field(description="No DMARC record, or an invalid one")


class SpfStatusCounts(BaseModel):
    valid: int
    over_limit: int
    missing: int
    invalid: int = Field(description="A permerror other than a limit (beyond seed 002's three)")
    error: int = Field(description="The SPF tree could not be read completely (DNS trouble)")


class ScanFreshness(BaseModel):
    scanned_last_24h: int
    scanned_last_7d: int
    percentage_24h: float
    percentage_7d: float


class RecentChange(BaseModel):
    id: str
    domain_id: str
    domain_name: str
    field_name: str
    old_value: str | None
    new_value: str | None
    detected_at: str


class DashboardSummaryOut(BaseModel):
    total_domains: int
    email_gateway_distribution: list[GatewayShare] = Field(
        description="Scanned domains by gateway, largest first"
    )
    dmarc_distribution: DmarcDistribution
    spf_status: SpfStatusCounts
    scan_freshness: ScanFreshness
    recent_changes: list[RecentChange] = Field(description="The last 20 DNS changes of the past 7 days")
    needs_attention_count: int = Field(
        description="Scanned domains whose DMARC policy is none or missing (or invalid), or whose SPF is "
        "missing, invalid or over the lookup limit"
    )
    messages_30d: int = Field(description="Messages in DMARC aggregate reports of the last 30 days")
    pass_rate_30d: float | None = Field(description="DMARC pass rate of those messages (null without any)")
    expiring_30d: int = Field(description="Domains whose registration expires within 30 days (WHOIS/RDAP)")
