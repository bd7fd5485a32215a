"""DMARC policy discovery and validation (RFC 7489, with the DMARCbis changes of RFC 9990 flagged); the
record syntax is `dns.dmarc_record`.

Discovery follows RFC 7489 §6.6.3: `_dmarc.<domain>` first; if that holds no DMARC record, the record of
the organizational domain (public suffix + one label, from the Public Suffix List shipped inside the
`publicsuffixlist` package, never fetched at run time). The result says which one was used. For a
subdomain both names are asked at once: it costs one query when the first exists and saves a round trip
when it does not, which is the usual case for subdomains.

A DNS failure at either step makes the result `error`, never `missing`: we cannot tell what is published.

External report destinations (RFC 7489 §7.1): a `mailto:` rua/ruf address whose organizational domain
differs from the policy domain's must be authorized by the destination, with a `v=DMARC1` TXT record at
`<policy domain>._report._dmarc.<destination host>`; otherwise receivers drop those reports. All such
checks run at once.

RFC 9990 (DMARCbis) discovers the policy with a DNS tree walk instead: `_dmarc.<name>` for the domain,
then for each parent up to the top-level domain (at most 8 names; a domain of more than 8 labels jumps
to its 7 rightmost), the nearest record wins. The walk is a bounded set of names, so all of them are
asked at once (the memo shares `_dmarc.<org>` with the RFC 7489 lookup): one round trip. Not `eager`
(the scanner's planned scans), the names above the organizational domain wait until none at or below it
has a record: they cannot matter otherwise, and for an organizational domain with a record that saves a
query. The nearest record is the policy; `source` says whether it was the domain's own, the
organizational domain's (both methods agree) or an intermediate name's that only the tree walk finds
(`treewalk`, with a warning that RFC 7489 receivers use the organizational domain's record instead). A
failed lookup at or below the organizational domain makes the result `error`; above it (public suffixes,
where nothing is usually published) a failure is only noted. Organizational-domain determination by
`psd=` tags is not done: alignment and external-destination checks keep using the Public Suffix List.

The policy that applies to mail from the domain (`effective_policy`, with `policy_source` saying which tag
gave it): `p` of the domain's own record (`own_record`); for a domain that uses a parent's record, `np`
when the domain does not exist (RFC 9989: NXDOMAIN in the sense of RFC 8020, so an empty non-terminal
exists), else `sp`, else `p`. Existence is asked (A of the domain, which a full scan asks anyway, so the
memo answers it) only when the parent's record has an `np` tag; when that lookup fails the domain is
taken to exist and a warning says that `np` might apply instead.
"""

from __future__ import annotations

import asyncio
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from dmarcwatch.dns.dmarc_record import DmarcPolicy, is_version, split_tags
from dmarcwatch.dns.dmarc_record import parse_dmarc as parse_dmarc
from dmarcwatch.dns.models import Issue, Severity
from dmarcwatch.dns.resolver import DnsResult, DnsSession, Outcome
from dmarcwatch.domain_names import public_suffix_list


class DmarcStatus(StrEnum):
    VALID = "valid"
    MISSING = "missing"
    INVALID = "invalid"
    ERROR = "error"


Authorization = Literal["not_required", "authorized", "unauthorized", "error"]


class ReportDestination(BaseModel):
    """One destination host of rua/ruf addresses and whether it accepts reports for this policy domain."""

    domain: str
    organizational_domain: str
    tags: list[str]
    external: bool
    authorization: Authorization
    query: str | None = None
    detail: str | None = None


class DmarcResult(BaseModel):
    domain: str
    status: DmarcStatus
    reasons: list[str] = Field(default_factory=list)
    organizational_domain: str
    # Where the record was found: the domain itself or, by fallback, its organizational domain.
    source: Literal["domain", "organizational", "treewalk"] | None = None
    policy_domain: str | None = None
    record_name: str | None = None
    record: str | None = None
    records: list[str] = Field(default_factory=list)
    policy: DmarcPolicy | None = None
    # What applies to mail from `domain` and the tag it comes from (see the module docstring).
    effective_policy: str | None = None
    policy_source: Literal["own_record", "sp", "np", "p"] | None = None
    # Whether `domain` exists (None: not asked, or the lookup failed); asked only for a parent's np.
    domain_exists: bool | None = None
    destinations: list[ReportDestination] = Field(default_factory=list)
    issues: list[Issue] = Field(default_factory=list)


MAX_TREE_WALK = 8


def tree_walk_names(domain: str) -> list[str]:
    """The names RFC 9990's DNS tree walk asks `_dmarc.` at, nearest first (at most 8)."""
    labels = domain.strip().rstrip(".").lower().split(".")
    names = [".".join(labels)]
    if len(labels) > MAX_TREE_WALK:
        labels = labels[-(MAX_TREE_WALK - 1) :]
        names.append(".".join(labels))
    for start in range(1, len(labels)):
        names.append(".".join(labels[start:]))
    return list(dict.fromkeys(names))[:MAX_TREE_WALK]


def organizational_domain(domain: str) -> str:
    """RFC 7489 §3.2: the public suffix plus one label. A name that is itself a public suffix is returned
    unchanged. The fixture TLD `.test` is not in the list, so the default rule makes it a suffix."""
    name = domain.strip().rstrip(".").lower()
    return public_suffix_list().privatesuffix(name) or name


# --- discovery -------------------------------------------------------------------------------------------


def _dmarc_records(result: DnsResult) -> tuple[list[str], list[str]]:
    """(records beginning with v=DMARC1, DMARC-looking records that do not) among TXT at _dmarc."""
    good: list[str] = []
    misplaced: list[str] = []
    for text in result.txt():
        pairs = split_tags(text)
        if pairs and is_version(pairs[0]):
            good.append(text)
        elif pairs and any(is_version(pair) or pair[0] == "p" for pair in pairs):
            misplaced.append(text)
    return good, misplaced


async def _authorize(
    session: DnsSession, policy_domain: str, policy_org: str, destination: str, tags: list[str]
) -> ReportDestination:
    dest_org = organizational_domain(destination)
    entry = ReportDestination(
        domain=destination,
        organizational_domain=dest_org,
        tags=tags,
        external=dest_org != policy_org,
        authorization="not_required",
    )
    if not entry.external:
        return entry
    entry.query = f"{policy_domain}._report._dmarc.{destination}"
    result = await session.query(entry.query, "TXT")
    if result.failed:
        entry.authorization = "error"
        entry.detail = result.describe()
    elif any(text.strip().upper().startswith("V=DMARC1") for text in result.txt()):
        entry.authorization = "authorized"
    else:
        entry.authorization = "unauthorized"
        entry.detail = result.describe() if result.void else f"no v=DMARC1 record at {entry.query}"
    return entry


async def _walk(session: DnsSession, names: list[str], org_depth: int, eager: bool) -> list[DnsResult]:
    """`_dmarc.` of each tree-walk name. Eager: all at once. Otherwise the names above the organizational
    domain (public suffixes, where a record is rare) only when no name at or below it holds a record or
    failed, since the nearest record wins and a failure there decides the result already."""
    if eager:
        return list(await asyncio.gather(*(session.query(f"_dmarc.{n}", "TXT") for n in names)))
    near = [n for n in names if n.count(".") >= org_depth]
    lookups = list(await asyncio.gather(*(session.query(f"_dmarc.{n}", "TXT") for n in near)))
    if len(near) < len(names) and not any(lookup.failed or any(_dmarc_records(lookup)) for lookup in lookups):
        far = names[len(near) :]
        lookups += await asyncio.gather(*(session.query(f"_dmarc.{n}", "TXT") for n in far))
    return lookups


async def check_dmarc(session: DnsSession, domain: str, *, eager: bool = True) -> DmarcResult:
    """Discover, parse and validate the DMARC policy that applies to mail from `domain` (A-label).
    `eager`: ask every name of the tree walk at once (one round trip, some names in vain); otherwise only
    the names that can matter (`_walk`)."""
    name = domain.strip().rstrip(".").lower()
    org = organizational_domain(name)
    result = DmarcResult(domain=name, status=DmarcStatus.MISSING, organizational_domain=org)
    org_depth = org.count(".")
    names = tree_walk_names(name)
    lookups = await _walk(session, names, org_depth, eager)
    candidates = []
    for candidate, lookup in zip(names, lookups, strict=False):
        source = "domain" if candidate == name else "organizational" if candidate == org else "treewalk"
        candidates.append((source, candidate, lookup))

    for source, policy_domain, lookup in candidates:
        if lookup.failed:
            if policy_domain.count(".") < org_depth:
                # Above the organizational domain (a public suffix): RFC 7489 never asks there.
                continue
            result.status = DmarcStatus.ERROR
            message = f"cannot tell whether a DMARC record exists: {lookup.describe()}"
            result.reasons = [message]
            result.issues = [
                Issue(severity=Severity.ERROR, code=f"dns_{lookup.outcome.value}", message=message)
            ]
            return result
        good, misplaced = _dmarc_records(lookup)
        if good or misplaced:
            result.source = source  # type: ignore[assignment]
            result.policy_domain = policy_domain
            result.record_name = lookup.name
            result.records = good + misplaced
            await _evaluate(session, result, good, misplaced)
            if source == "treewalk" and policy_domain.count(".") > org_depth:
                result.issues.append(
                    Issue(
                        severity=Severity.WARNING,
                        code="treewalk_only",
                        message=f"the policy comes from _dmarc.{policy_domain} (RFC 9990 tree walk); "
                        f"receivers still on RFC 7489 apply _dmarc.{org} instead",
                        domain=name,
                    )
                )
            return result
    candidates = [c for c in candidates if c[1].count(".") >= org_depth]
    tried = " and ".join(f"_dmarc.{policy_domain}" for _, policy_domain, _ in candidates)
    result.reasons = [f"no DMARC record at {tried}"]
    result.issues = [Issue(severity=Severity.ERROR, code="missing", message=result.reasons[0], domain=name)]
    return result


async def _exists(session: DnsSession, domain: str) -> bool | None:
    """False on NXDOMAIN (RFC 8020: nothing at or below the name), True on an answer or NODATA, None when
    the lookup failed."""
    lookup = await session.query(domain, "A")
    if lookup.failed:
        return None
    return lookup.outcome is not Outcome.NXDOMAIN


async def _applied_policy(session: DnsSession, result: DmarcResult, policy: DmarcPolicy) -> list[Issue]:
    """Set `effective_policy` and `policy_source`; return the warnings it gave rise to."""
    issues: list[Issue] = []
    applied: str | None = None
    source: Literal["own_record", "sp", "np", "p"] = "own_record"
    if result.source != "domain":
        if policy.np is not None:
            result.domain_exists = await _exists(session, result.domain)
            if result.domain_exists is False:
                applied, source = policy.np, "np"
            elif result.domain_exists is None:
                issues.append(
                    Issue(
                        severity=Severity.WARNING,
                        code="existence_unknown",
                        message=f"could not tell whether {result.domain} exists: if it does not, "
                        f"np={policy.np} applies instead of {'sp' if policy.sp else 'p'}",
                        domain=result.domain,
                    )
                )
        if applied is None:
            applied, source = (policy.sp, "sp") if policy.sp else (policy.p, "p")
    else:
        applied = policy.p
    if applied is None and any(uri.valid for uri in policy.rua):
        applied = "none"  # a record without p but with reports: receivers act as if p=none
    result.effective_policy = applied
    result.policy_source = source if applied is not None else None
    return issues


async def _evaluate(session: DnsSession, result: DmarcResult, good: list[str], misplaced: list[str]) -> None:
    issues: list[Issue] = []
    assert result.policy_domain is not None
    for text in misplaced:
        issues.append(
            Issue(
                severity=Severity.ERROR,
                code="version_not_first",
                message=f"'{text}' does not begin with v=DMARC1; receivers ignore it",
                domain=result.policy_domain,
            )
        )
    if len(good) > 1:
        issues.append(
            Issue(
                severity=Severity.ERROR,
                code="multiple_records",
                message=f"{result.record_name} has {len(good)} DMARC records; receivers apply none of them",
                domain=result.policy_domain,
            )
        )
    elif good:
        result.record = good[0]
        result.policy, parse_issues = parse_dmarc(good[0], result.policy_domain)
        issues.extend(parse_issues)
    policy = result.policy
    if policy is not None:
        issues.extend(await _applied_policy(session, result, policy))
        destinations: dict[str, list[str]] = {}
        for tag, uris in (("rua", policy.rua), ("ruf", policy.ruf)):
            for uri in uris:
                if uri.valid and uri.domain is not None:
                    destinations.setdefault(uri.domain, [])
                    if tag not in destinations[uri.domain]:
                        destinations[uri.domain].append(tag)
        policy_org = organizational_domain(result.policy_domain)
        result.destinations = list(
            await asyncio.gather(
                *(
                    _authorize(session, result.policy_domain, policy_org, destination, tags)
                    for destination, tags in destinations.items()
                )
            )
        )
        for entry in result.destinations:
            if entry.authorization == "unauthorized":
                issues.append(
                    Issue(
                        severity=Severity.WARNING,
                        code="destination_unauthorized",
                        message=f"{entry.domain} has not authorized reports for {result.policy_domain} "
                        f"({entry.query} has no v=DMARC1): receivers will not send them",
                        domain=result.policy_domain,
                    )
                )
            elif entry.authorization == "error":
                issues.append(
                    Issue(
                        severity=Severity.WARNING,
                        code="destination_unknown",
                        message=f"could not check whether {entry.domain} accepts reports: {entry.detail}",
                        domain=result.policy_domain,
                    )
                )
    errors = [issue.message for issue in issues if issue.severity is Severity.ERROR]
    result.status = DmarcStatus.INVALID if errors or policy is None else DmarcStatus.VALID
    result.reasons = errors
    result.issues = issues
