"""The result of one full domain scan: a flat model, one field per fact, so the API, storage and the
change detector (`dns.diff`) can read it without walking nested analyses.

Lists are sorted when the result is built, so two scans of an unchanged zone serialise identically.
`errors` names every check whose DNS failed (SERVFAIL, timeout, budget spent ...); a field of a failed
check holds whatever could be read and must not be taken as "absent".
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field, computed_field

from dmarcwatch.modeling import Model


class MxEntry(Model):
    priority: int
    host: str


class SoaInfo(Model):
    serial: int
    mname: str
    rname: str


class BimiInfo(Model):
    record: str
    # `l=`: the SVG logo; `a=`: the Verified Mark Certificate (authority evidence). Empty tags are None.
    logo_url: str | None = None
    authority: str | None = None


class MtaStsInfo(Model):
    record: str
    id: str | None = None


class TlsRptInfo(Model):
    record: str
    rua: list[str] = Field(default_factory=list)


class SrvEntry(Model):
    service: str
    priority: int
    weight: int
    port: int
    target: str


class CaaEntry(Model):
    flags: int
    tag: str
    value: str


class DnssecInfo(Model):
    """`ds_present`: a DS record set exists for the domain at its parent (None: the query failed).
    `ad`: the resolver set the AD flag on the domain's SOA answer, i.e. it validated it; only as
    meaningful as the resolver (None: not asked or failed)."""

    ds_present: bool | None = None
    ad: bool | None = None


class DkimSelector(Model):
    selector: str
    record: str
    key_type: str
    # None when p= is empty (revoked) or not a decodable key of a known type.
    key_bits: int | None = None
    testing: bool = False
    revoked: bool = False
    vendor: str | None = None


class DkimStatus(StrEnum):
    # At least one selector publishes a usable key.
    FOUND = "found"
    # Only revoked keys (empty p=) were found.
    REVOKED = "revoked"
    # None of the selectors asked has a key. Selectors are not discoverable, so this is not proof.
    NOT_FOUND = "not_found"
    # Nothing found and some selector lookups failed: we cannot tell.
    ERROR = "error"


class ScanError(Model):
    """One failed check. `check` is e.g. "mx", "dmarc", "srv:_imaps._tcp", "dkim:google", "ptr:192.0.2.1"."""

    check: str
    outcome: str
    message: str


class ScanResult(Model):
    domain: str

    mx: list[MxEntry] = Field(default_factory=list)
    # The host addresses of the MX hosts (in MX order), and where the primary MX's first address is.
    mx_server_ips: list[str] = Field(default_factory=list)
    mx_server_country: str | None = None
    # The primary MX's network (`dmarcwatch.ipdata`): its AS number needs the operator's ASN file, its
    # region, city and coordinates the city file; the AS name is the ASN file's, else geoip2fast's.
    mx_server_asn: int | None = None
    mx_server_asn_org: str | None = None
    mx_server_region: str | None = None
    mx_server_city: str | None = None
    mx_server_lat: float | None = None
    mx_server_lon: float | None = None
    email_gateway: str | None = None

    spf: str | None = None
    spf_valid: bool | None = None
    spf_status: str | None = None
    spf_dns_lookups: int | None = None
    spf_lookups_main: int | None = None
    spf_lookups_nested: int | None = None
    spf_void_lookups: int | None = None
    sending_services: list[str] = Field(default_factory=list)

    dmarc: str | None = None
    dmarc_status: str | None = None
    dmarc_policy_p: str | None = None
    dmarc_policy_sp: str | None = None
    # The policy that applies to mail from the domain (`dns.dmarc.DmarcResult.effective_policy`), the tag it
    # comes from ("own_record", "sp", "np" or "p") and the domain whose record holds it.
    dmarc_policy_applied: str | None = None
    dmarc_policy_source: str | None = None
    dmarc_policy_domain: str | None = None
    dmarc_pct: int | None = None
    dmarc_rua: list[str] = Field(default_factory=list)
    dmarc_ruf: list[str] = Field(default_factory=list)

    dkim_selectors_found: list[DkimSelector] = Field(default_factory=list)
    # Every selector asked: a selector missing from an older scan's list was not looked for then.
    dkim_selectors_checked: list[str] = Field(default_factory=list)
    dkim_status: DkimStatus | None = None
    # When every common selector was last asked without a failed lookup, by this scan or an earlier one
    # (`dns.plan`: rescans ask the common list once a week). None: not since this field exists.
    dkim_common_probed_at: datetime | None = None

    txt: list[str] = Field(default_factory=list)
    tech_in_dns: list[str] = Field(default_factory=list)
    a: list[str] = Field(default_factory=list)
    aaaa: list[str] = Field(default_factory=list)
    # Where the first web server address is, as for the primary MX.
    a_server_country: str | None = None
    a_server_asn: int | None = None
    a_server_asn_org: str | None = None
    a_server_region: str | None = None
    a_server_city: str | None = None
    a_server_lat: float | None = None
    a_server_lon: float | None = None
    ns: list[str] = Field(default_factory=list)
    soa: SoaInfo | None = None
    bimi: BimiInfo | None = None
    mta_sts: MtaStsInfo | None = None
    tls_rpt: TlsRptInfo | None = None
    srv: list[SrvEntry] = Field(default_factory=list)
    # MX host address -> its PTR name (None: no PTR record).
    ptr: dict[str, str | None] = Field(default_factory=dict)
    caa: list[CaaEntry] = Field(default_factory=list)
    dnssec: DnssecInfo = Field(default_factory=DnssecInfo)

    errors: list[ScanError] = Field(default_factory=list)
    scanned_at: datetime
    queries_sent: int = 0
    duration_ms: float = 0.0

    # The address lists by family, derived (so results stored before they existed have them too).
    @computed_field  # type: ignore[prop-decorator]
    @property
    def mx_server_ipv4(self) -> list[str]:
        return [ip for ip in self.mx_server_ips if ":" not in ip]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def mx_server_ipv6(self) -> list[str]:
        return [ip for ip in self.mx_server_ips if ":" in ip]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def a_server_ipv4(self) -> list[str]:
        return [ip for ip in self.a if ":" not in ip]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def a_server_ipv6(self) -> list[str]:
        return [ip for ip in self.aaaa if ":" in ip]

    def failed_checks(self) -> set[str]:
        return {error.check for error in self.errors}
