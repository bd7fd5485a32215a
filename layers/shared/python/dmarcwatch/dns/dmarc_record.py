"""The syntax of one DMARC record (RFC 7489 §6.3-6.4, with the DMARCbis changes of RFC 9990 flagged): its
tags, their values, the report URIs, and every error and piece of advice about them. No DNS: discovery
and evaluation are in `dns.dmarc`.

The record is the zone owner's text, so parsing is linear in it: records over `MAX_RECORD_LENGTH` are
refused unparsed, and the tag-list is split and stripped rather than matched with one pattern.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Literal

from pydantic import BaseModel, Field

from dmarcwatch.dns.models import Issue, Severity
from dmarcwatch.dns.txt import too_long
from dmarcwatch.domain_names import InvalidDomain, normalize_domain

_POLICIES = ("none", "quarantine", "reject")
_TAG_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_URI_RE = re.compile(r"(?P<uri>[A-Za-z][A-Za-z0-9+.\-]*:[^!]*)(?:!(?P<size>[0-9]+[kmgtKMGT]?))?")
_LOCAL_PART_RE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\-]+")
_KNOWN_TAGS = ("v", "p", "sp", "np", "pct", "rua", "ruf", "adkim", "aspf", "fo", "ri", "rf", "t", "psd")
_OBSOLETE_TAGS = {
    "pct": "'pct' is removed in DMARCbis (RFC 9990); use 't=y' for testing",
    "ri": "'ri' is removed in DMARCbis (RFC 9990); receivers send daily reports regardless",
    "rf": "'rf' is removed in DMARCbis (RFC 9990); only AFRF failure reports exist",
}


class ReportUri(BaseModel):
    uri: str
    scheme: str | None = None
    address: str | None = None
    # The destination host of a mailto: URI (A-label, lower case).
    domain: str | None = None
    size_limit: str | None = None
    valid: bool = True


class DmarcPolicy(BaseModel):
    """The tags of one record. Typed fields hold valid values only; `tags` keeps everything as published."""

    tags: dict[str, str]
    p: str | None = None
    sp: str | None = None
    np: str | None = None
    pct: int | None = None
    rua: list[ReportUri] = Field(default_factory=list)
    ruf: list[ReportUri] = Field(default_factory=list)
    adkim: Literal["r", "s"] | None = None
    aspf: Literal["r", "s"] | None = None
    fo: list[str] = Field(default_factory=list)
    ri: int | None = None
    rf: list[str] = Field(default_factory=list)
    t: Literal["y", "n"] | None = None
    psd: Literal["y", "n", "u"] | None = None


def split_tags(record: str) -> list[tuple[str, str]] | None:
    """Tag-list (RFC 7489 §6.4 / RFC 6376 §3.2) as (lower-case name, value) pairs; None if not one.

    Split and stripped rather than matched with one pattern: a pattern with optional whitespace on both
    sides of a lazy value is quadratic in a whitespace run, and the record is the zone owner's text.
    """
    pairs: list[tuple[str, str]] = []
    for part in record.split(";"):
        if not part.strip():
            continue
        name, equals, value = part.partition("=")
        name = name.strip()
        if not equals or _TAG_NAME_RE.fullmatch(name) is None:
            return None
        pairs.append((name.lower(), value.strip()))
    return pairs


def is_version(pair: tuple[str, str]) -> bool:
    return pair[0] == "v" and pair[1].upper() == "DMARC1"


def _parse_uri(text: str) -> tuple[ReportUri, str | None]:
    """One rua/ruf entry: `scheme:...[!size]`; mailto: must name a deliverable address."""
    match = _URI_RE.fullmatch(text)
    if match is None:
        return ReportUri(uri=text, valid=False), f"'{text}' is not a URI (scheme:...[!size])"
    uri = ReportUri(uri=match["uri"], size_limit=match["size"])
    scheme, _, rest = match["uri"].partition(":")
    uri.scheme = scheme.lower()
    if uri.scheme != "mailto":
        return uri, None
    address = urllib.parse.unquote(rest.split("?", 1)[0])
    local, at, host = address.rpartition("@")
    if not at or not local or not _LOCAL_PART_RE.fullmatch(local):
        uri.valid = False
        return uri, f"'{text}' is not a valid mailto: address"
    normalized = normalize_domain(host)
    if isinstance(normalized, InvalidDomain):
        uri.valid = False
        return uri, f"'{text}': {normalized.message}"
    uri.address = f"{local}@{normalized.ascii}"
    uri.domain = normalized.ascii
    return uri, None


def parse_dmarc(record: str, domain: str | None = None) -> tuple[DmarcPolicy | None, list[Issue]]:
    """Parse and validate one DMARC record. Errors make it invalid; warnings are advice."""
    issues: list[Issue] = []

    def issue(severity: Severity, code: str, message: str, term: str | None = None) -> None:
        issues.append(Issue(severity=severity, code=code, message=message, domain=domain, term=term))

    oversized = too_long(record)
    if oversized is not None:
        issue(Severity.ERROR, "record_too_long", oversized)
        return None, issues
    pairs = split_tags(record)
    if pairs is None:
        issue(Severity.ERROR, "syntax", "not a tag-list of 'name=value' separated by ';'")
        return None, issues
    if not pairs or not is_version(pairs[0]):
        issue(Severity.ERROR, "version_not_first", "a DMARC record must begin with 'v=DMARC1'")
        return None, issues
    tags: dict[str, str] = {}
    for name, value in pairs:
        if name in tags:
            issue(Severity.ERROR, "duplicate_tag", f"tag '{name}' appears more than once", f"{name}={value}")
        else:
            tags[name] = value
    policy = DmarcPolicy(tags=tags)

    def term(name: str) -> str:
        return f"{name}={tags[name]}"

    for name in ("p", "sp", "np"):
        if name in tags:
            value = tags[name].lower()
            if value in _POLICIES:
                setattr(policy, name, value)
            else:
                issue(
                    Severity.ERROR, "invalid_policy", f"{name} must be none, quarantine or reject", term(name)
                )
    if "pct" in tags:
        value = tags["pct"]
        if value.isdigit() and 0 <= int(value) <= 100:
            policy.pct = int(value)
            if policy.pct < 100:
                issue(
                    Severity.WARNING,
                    "partial_pct",
                    f"the policy applies to only {policy.pct}% of failing mail",
                )
        else:
            issue(Severity.ERROR, "invalid_pct", "pct must be an integer from 0 to 100", term("pct"))
    for name in ("rua", "ruf"):
        if name not in tags:
            continue
        uris: list[ReportUri] = []
        for entry in tags[name].split(","):
            uri, error = _parse_uri(entry.strip())
            uris.append(uri)
            if error:
                issue(Severity.ERROR, "invalid_uri", f"{name}: {error}", term(name))
            elif uri.scheme != "mailto":
                issue(
                    Severity.WARNING,
                    "non_mailto_uri",
                    f"{name}: '{uri.uri}': receivers send reports only to mailto: (RFC 9990 allows no other)",
                    term(name),
                )
        setattr(policy, name, uris)
    for name in ("adkim", "aspf"):
        if name in tags:
            value = tags[name].lower()
            if value in ("r", "s"):
                setattr(policy, name, value)
            else:
                issue(Severity.ERROR, "invalid_alignment", f"{name} must be r or s", term(name))
    if "fo" in tags:
        options = [option.strip() for option in tags["fo"].split(":")]
        if all(option in ("0", "1", "d", "s") for option in options):
            policy.fo = options
        else:
            issue(Severity.ERROR, "invalid_fo", "fo must be ':'-separated values of 0, 1, d, s", term("fo"))
    if "ri" in tags:
        if tags["ri"].isdigit() and int(tags["ri"]) < 2**32:
            policy.ri = int(tags["ri"])
        else:
            issue(Severity.ERROR, "invalid_ri", "ri must be a number of seconds", term("ri"))
    if "rf" in tags:
        formats = [value.strip().lower() for value in tags["rf"].split(":")]
        if all(value == "afrf" for value in formats):
            policy.rf = formats
        else:
            issue(Severity.ERROR, "invalid_rf", "rf must be 'afrf'", term("rf"))
    for name, allowed in (("t", ("y", "n")), ("psd", ("y", "n", "u"))):
        if name in tags:
            value = tags[name].lower()
            if value in allowed:
                setattr(policy, name, value)
            else:
                issue(
                    Severity.ERROR,
                    f"invalid_{name}",
                    f"{name} must be one of {', '.join(allowed)}",
                    term(name),
                )
    for name in tags:
        if name in _OBSOLETE_TAGS:
            issue(Severity.WARNING, "obsolete_tag", _OBSOLETE_TAGS[name], term(name))
        elif name not in _KNOWN_TAGS:
            issue(Severity.WARNING, "unknown_tag", f"unknown tag '{name}' is ignored", term(name))
    has_reports = any(uri.valid for uri in policy.rua)
    if "p" not in tags:
        if has_reports:
            issue(Severity.WARNING, "missing_p", "no 'p' tag: receivers act as if p=none")
        else:
            issue(Severity.ERROR, "missing_p", "no 'p' tag and no valid rua: receivers ignore the record")
    elif policy.p == "none":
        issue(Severity.WARNING, "p_none", "p=none only monitors: failing mail is still delivered")
    if policy.p in ("quarantine", "reject") and policy.sp == "none":
        issue(Severity.WARNING, "sp_none", "sp=none leaves subdomains unprotected")
    if not policy.rua:
        issue(Severity.WARNING, "no_rua", "no rua: nobody receives aggregate reports for this domain")
    return policy, issues
