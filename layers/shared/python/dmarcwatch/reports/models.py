"""Parsed reports: aggregate DMARC reports (RFC 7489, RFC 9990) and SMTP TLS reports (RFC 8460).

Report-level objects are pydantic models. A record is a slotted dataclass instead (pydantic validates it all
the same when a report is loaded from JSON): real reports carry 100,000 records, and a BaseModel instance
per record (with its `__dict__` and fields-set) costs about five times the memory and twice the time.
Treat records as read-only: records that report the same DKIM or SPF result share one result object.

Enumerated values are normalised ignoring case, surrounding space, `-` or a space for `_` and a missing `_`.
A value a reporter invented maps to `unknown` and the text as sent is kept (in the record's matching `*_raw`
field, or in `PolicyPublished.raw_values`), as it is when a known alias such as `hardfail` was mapped:
nothing a reporter said is lost, and nothing unknown is rejected. Every such repair is also noted in
`ReportMetadata.errors` (see `deviations.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, computed_field

from dmarcwatch.modeling import Model
from dmarcwatch.reports.errors import ReasonCode


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]


class DmarcPolicy(StrEnum):
    """A published policy: `p`, `sp`, `np`."""

    NONE = "none"
    QUARANTINE = "quarantine"
    REJECT = "reject"
    UNKNOWN = "unknown"


class Disposition(StrEnum):
    """What the receiver did with the messages of a record."""

    NONE = "none"
    QUARANTINE = "quarantine"
    REJECT = "reject"
    UNKNOWN = "unknown"


class Alignment(StrEnum):
    RELAXED = "r"
    STRICT = "s"
    UNKNOWN = "unknown"


class DmarcVerdict(StrEnum):
    """policy_evaluated dkim/spf: did an aligned identifier pass."""

    PASS = "pass"  # noqa: S105 - a result, not a password
    FAIL = "fail"
    UNKNOWN = "unknown"


class DkimResult(StrEnum):
    NONE = "none"
    PASS = "pass"  # noqa: S105 - a result, not a password
    FAIL = "fail"
    POLICY = "policy"
    NEUTRAL = "neutral"
    TEMPERROR = "temperror"
    PERMERROR = "permerror"
    UNKNOWN = "unknown"


class SpfResult(StrEnum):
    NONE = "none"
    NEUTRAL = "neutral"
    PASS = "pass"  # noqa: S105 - a result, not a password
    FAIL = "fail"
    SOFTFAIL = "softfail"
    TEMPERROR = "temperror"
    PERMERROR = "permerror"
    UNKNOWN = "unknown"


class SpfScope(StrEnum):
    MFROM = "mfrom"
    HELO = "helo"
    UNKNOWN = "unknown"


class OverrideReason(StrEnum):
    """policy_evaluated reason type (RFC 7489 PolicyOverrideType, plus RFC 9990's policy_test_mode)."""

    FORWARDED = "forwarded"
    SAMPLED_OUT = "sampled_out"
    TRUSTED_FORWARDER = "trusted_forwarder"
    MAILING_LIST = "mailing_list"
    LOCAL_POLICY = "local_policy"
    POLICY_TEST_MODE = "policy_test_mode"
    OTHER = "other"
    UNKNOWN = "unknown"


class DiscoveryMethod(StrEnum):
    """How the receiver found the policy (RFC 9990)."""

    PSL = "psl"
    TREEWALK = "treewalk"
    UNKNOWN = "unknown"


@dataclass(slots=True)
class PolicyOverride:
    type: OverrideReason
    comment: str | None = None
    type_raw: str | None = None


@dataclass(slots=True)
class DkimAuthResult:
    domain: str | None
    result: DkimResult
    selector: str | None = None
    human_result: str | None = None
    result_raw: str | None = None


@dataclass(slots=True)
class SpfAuthResult:
    domain: str | None
    result: SpfResult
    scope: SpfScope | None = None
    human_result: str | None = None
    result_raw: str | None = None
    scope_raw: str | None = None


@dataclass(slots=True)
class AggregateRecord:
    """One `<record>`: a source IP and identifier set, how many messages, and how they fared.

    `policy_dkim`/`policy_spf` are the DMARC-aligned verdicts of `<policy_evaluated>`; `dkim_results` and
    `spf_results` are the raw `<auth_results>`. `dmarc_pass` is computed: either aligned verdict passed.
    """

    source_ip: str
    count: int
    disposition: Disposition
    policy_dkim: DmarcVerdict
    policy_spf: DmarcVerdict
    header_from: str
    dmarc_pass: bool
    envelope_from: str | None = None
    envelope_to: str | None = None
    reasons: tuple[PolicyOverride, ...] = ()
    dkim_results: tuple[DkimAuthResult, ...] = ()
    spf_results: tuple[SpfAuthResult, ...] = ()
    disposition_raw: str | None = None
    policy_dkim_raw: str | None = None
    policy_spf_raw: str | None = None


class DateRange(Model):
    begin: UtcDatetime
    end: UtcDatetime


class ReportMetadata(Model):
    org_name: str
    email: str | None = None
    extra_contact_info: str | None = None
    report_id: str
    date_range: DateRange
    # The reporter's own <error> texts, then the parser's notes on what it repaired (deviations.py): at most
    # Limits.max_report_errors entries of Limits.max_error_length characters, the last saying how many more.
    errors: list[str] = Field(default_factory=list)
    generator: str | None = None


class PolicyPublished(Model):
    domain: str
    adkim: Alignment = Alignment.RELAXED
    aspf: Alignment = Alignment.RELAXED
    p: DmarcPolicy
    # None: not published (sp then follows p; np follows sp).
    sp: DmarcPolicy | None = None
    np: DmarcPolicy | None = None
    # RFC 7489 default; RFC 9990 dropped pct, which means every message.
    pct: int = Field(default=100, ge=0, le=100)
    fo: str | None = None
    testing: bool | None = None
    discovery_method: DiscoveryMethod | None = None
    # Raw text of the enumerated fields above whose value was an alias or unknown, by element name.
    raw_values: dict[str, str] = Field(default_factory=dict)


class AggregateReport(Model):
    kind: Literal["aggregate"] = "aggregate"
    version: str | None = None
    metadata: ReportMetadata
    policy_published: PolicyPublished
    records: list[AggregateRecord] = Field(default_factory=list)
    # Where in the input the report was found, e.g. `part 2 'x.zip' > member 'x.xml'`.
    source: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def message_count(self) -> int:
        return sum(record.count for record in self.records)


class TlsPolicyType(StrEnum):
    STS = "sts"
    TLSA = "tlsa"
    NO_POLICY_FOUND = "no-policy-found"
    UNKNOWN = "unknown"


_TLS_POLICY_TYPES = frozenset(member.value for member in TlsPolicyType)


def _tls_policy_type(value: object) -> object:
    if isinstance(value, str):
        key = value.strip().lower()
        return key if key in _TLS_POLICY_TYPES else TlsPolicyType.UNKNOWN
    return value


def _str_list(value: object) -> object:
    # RFC 8460's example has mx-host as one string; some reporters send a list.
    return [value] if isinstance(value, str) else value


def _kebab(name: str) -> str:
    return name.replace("_", "-")


class _TlsModel(Model):
    model_config = ConfigDict(alias_generator=_kebab, populate_by_name=True)


class TlsDateRange(_TlsModel):
    start_datetime: UtcDatetime
    end_datetime: UtcDatetime


class TlsPolicy(_TlsModel):
    policy_type: Annotated[TlsPolicyType, BeforeValidator(_tls_policy_type)]
    policy_string: list[str] = Field(default_factory=list)
    policy_domain: str
    mx_host: Annotated[list[str], BeforeValidator(_str_list)] = Field(default_factory=list)


class TlsSummary(_TlsModel):
    total_successful_session_count: int = Field(ge=0)
    total_failure_session_count: int = Field(ge=0)


class TlsFailureDetail(_TlsModel):
    result_type: str
    sending_mta_ip: str | None = None
    receiving_mx_hostname: str | None = None
    receiving_mx_helo: str | None = None
    receiving_ip: str | None = None
    failed_session_count: int = Field(ge=0)
    additional_information: str | None = None
    failure_reason_code: str | None = None


class TlsPolicyResult(_TlsModel):
    """One policy's sessions. The summary counts every session; `failure_details` keeps at most
    `Limits.max_tls_failure_details` of them (those with the most failed sessions), and the two
    `omitted_*` counts say what was left out. Both are set by the parser, whatever the report says."""

    policy: TlsPolicy
    summary: TlsSummary
    failure_details: list[TlsFailureDetail] = Field(default_factory=list)
    omitted_failure_details: int = 0
    omitted_failed_session_count: int = 0


class TlsReport(_TlsModel):
    kind: Literal["tlsrpt"] = "tlsrpt"
    organization_name: str
    date_range: TlsDateRange
    contact_info: str | None = None
    report_id: str
    policies: list[TlsPolicyResult] = Field(default_factory=list)
    source: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_successful_session_count(self) -> int:
        return sum(policy.summary.total_successful_session_count for policy in self.policies)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_failure_session_count(self) -> int:
        return sum(policy.summary.total_failure_session_count for policy in self.policies)


Report = Annotated[AggregateReport | TlsReport, Field(discriminator="kind")]


class Rejection(Model):
    """Why an input, or one part of it, gave no report."""

    code: ReasonCode
    message: str
    field: str | None = None
    location: str | None = None


class ExtractionResult(Model):
    """Every report found in one input, or the reason the whole input is quarantined.

    All or nothing: when `quarantine` is set, `reports` is empty even if some other part of the mail held a
    good report, so that a quarantined mail is simply reprocessed whole. `skipped` lists the parts that were
    looked at and ignored (text bodies, logos, ...), for diagnostics.
    """

    reports: list[Report] = Field(default_factory=list)
    quarantine: Rejection | None = None
    skipped: list[Rejection] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.quarantine is None
