"""From the elements of one `<feedback>` child (metadata, policy, a record) to models.

This runs once per record, so it is written for speed: one pass over each element's children, texts read
inline, canonical enum values found with a single lookup, field paths built only when something is wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from xml.etree.ElementTree import Element

from dmarcwatch.reports import normalize as norm
from dmarcwatch.reports.errors import ReasonCode, ReportError, invalid
from dmarcwatch.reports.models import (
    AggregateRecord,
    Alignment,
    DateRange,
    DiscoveryMethod,
    Disposition,
    DkimAuthResult,
    DkimResult,
    DmarcPolicy,
    DmarcVerdict,
    OverrideReason,
    PolicyOverride,
    PolicyPublished,
    ReportMetadata,
    SpfAuthResult,
    SpfResult,
    SpfScope,
)
from dmarcwatch.reports.normalize import E

# Every element name a report may use, by where it appears; others (extensions, vendor additions) are ignored.
_FEEDBACK = ("feedback", "version", "report_metadata", "policy_published", "record")
_METADATA = ("org_name", "email", "extra_contact_info", "report_id", "error", "generator")
_DATE_RANGE = ("date_range", "begin", "end")
_POLICY = ("domain", "adkim", "aspf", "p", "sp", "np", "pct", "fo", "testing", "discovery_method")
_ROW = ("row", "source_ip", "count", "policy_evaluated", "disposition", "dkim", "spf", "reason")
_REASON = ("type", "comment")
_IDENTIFIERS = ("identifiers", "header_from", "envelope_from", "envelope_to")
_AUTH_RESULTS = ("auth_results", "domain", "selector", "result", "human_result", "scope")
NAMES = frozenset(
    _FEEDBACK + _METADATA + _DATE_RANGE + _POLICY + _ROW + _REASON + _IDENTIFIERS + _AUTH_RESULTS
)

_PASS = DmarcVerdict.PASS

# Where an element is, for error messages: a path (`report_metadata`) or (record index, path in the record).
Where = str | tuple[int, str]


def _exact(table: dict[str, E]) -> dict[str, E]:
    """Canonical text -> member: the one-lookup path for the values almost every report uses."""
    return {key: member for key, member in table.items() if key == member.value}


_DISPOSITIONS = _exact(norm.DISPOSITIONS)
_VERDICTS = _exact(norm.VERDICTS)
_DKIM_RESULTS = _exact(norm.DKIM_RESULTS)
_SPF_RESULTS = _exact(norm.SPF_RESULTS)
_SPF_SCOPES = _exact(norm.SPF_SCOPES)


class FieldReader:
    """Reads the children of `<feedback>` for one report (namespace map, caps and string cache included)."""

    def __init__(self, known: dict[str, str], max_text: int) -> None:
        self.known = known
        self.max_text = max_text
        cache: dict[str, str] = {}
        # Domains, selectors and results repeat across records: share one string object for each.
        self.intern: Callable[[str, str], str] = cache.setdefault

    # -- generic ------------------------------------------------------------------------------------------

    def texts(
        self, element: Element, where: Where, groups: tuple[str, ...] = (), position: int | None = None
    ) -> tuple[dict[str, str], dict[str, list[Element]]]:
        """The stripped texts of an element's known leaf children, and its children named in `groups`.

        `where` (and `position`, for a repeated element) only serve to name a field in an error, and the
        path is only built then. A leaf given twice is refused: which of two counts is right cannot be told.
        """
        texts: dict[str, str] = {}
        grouped: dict[str, list[Element]] = {}
        known = self.known
        max_text = self.max_text
        for child in element:
            name = known.get(child.tag)
            if name is None:
                continue
            if name in groups:
                grouped.setdefault(name, []).append(child)
                continue
            if name in texts:
                raise invalid(_path(where, position, name), "appears twice")
            text = child.text
            if text is None:
                texts[name] = ""
            elif len(text) > max_text:
                field = _path(where, position, name)
                raise ReportError(
                    ReasonCode.TEXT_TOO_LONG, f"{field}: text longer than {max_text} characters", field=field
                )
            else:
                texts[name] = text.strip()
        return texts, grouped

    @staticmethod
    def one(grouped: dict[str, list[Element]], name: str, where: Where) -> Element:
        elements = grouped.get(name)
        if not elements or len(elements) > 1:
            raise invalid(_path(where, None, name), "missing" if not elements else "appears twice")
        return elements[0]

    @staticmethod
    def required(texts: dict[str, str], name: str, where: str) -> str:
        text = texts.get(name)
        if text is None:
            raise invalid(f"{where}.{name}", "missing")
        if not text:
            raise invalid(f"{where}.{name}", "empty")
        return text

    # -- report_metadata and policy_published -------------------------------------------------------------

    def metadata(self, element: Element) -> ReportMetadata:
        where = "report_metadata"
        texts, grouped = self.texts(element, where, ("date_range", "error"))
        dates, _ = self.texts(self.one(grouped, "date_range", where), f"{where}.date_range")
        begin = self._epoch(dates, "begin", f"{where}.date_range")
        end = self._epoch(dates, "end", f"{where}.date_range")
        if end < begin:
            raise invalid(f"{where}.date_range", "ends before it begins")
        report_id = norm.report_id(self.required(texts, "report_id", where))
        if not report_id:
            raise invalid(f"{where}.report_id", "empty")
        email = texts.get("email") or None
        org_name = texts.get("org_name")
        if not org_name:
            # A few reporters leave org_name empty; the domain of their address names them as well.
            if email is None or "@" not in email:
                raise invalid(f"{where}.org_name", "missing, and no email to name the reporter")
            org_name = email.rpartition("@")[2].strip("<> ").lower()
        errors = []
        for index, child in enumerate(grouped.get("error", ())):
            text = self.leaf(child, f"{where}.error[{index}]")
            if text:
                errors.append(text)
        return ReportMetadata(
            org_name=org_name,
            email=email,
            extra_contact_info=texts.get("extra_contact_info") or None,
            report_id=report_id,
            date_range=DateRange(begin=begin, end=end),
            errors=errors,
            generator=texts.get("generator") or None,
        )

    def leaf(self, element: Element, where: str) -> str:
        text = element.text or ""
        if len(text) > self.max_text:
            raise ReportError(
                ReasonCode.TEXT_TOO_LONG, f"{where}: text longer than {self.max_text} characters", field=where
            )
        return text.strip()

    def _epoch(self, texts: dict[str, str], name: str, where: str) -> datetime:
        try:
            return norm.epoch(self.required(texts, name, where))
        except ValueError as error:
            raise invalid(f"{where}.{name}", str(error)) from None

    def policy(self, element: Element) -> PolicyPublished:
        where = "policy_published"
        texts, _ = self.texts(element, where)
        raw_values: dict[str, str] = {}

        def choose(name: str, table: dict[str, E], unknown: E) -> E | None:
            text = texts.get(name)
            if not text:
                return None
            member, raw = norm.enum_value(text, table, unknown)
            if raw is not None:
                raw_values[name] = raw
            return member

        domain = norm.domain(self.required(texts, "domain", where))
        if domain is None:
            raise invalid(f"{where}.domain", "empty")
        pct_text = texts.get("pct")
        try:
            pct = norm.whole_number(pct_text) if pct_text else 100
        except ValueError as error:
            raise invalid(f"{where}.pct", str(error)) from None
        if pct > 100:
            raise invalid(f"{where}.pct", f"{pct} is above 100")
        testing = texts.get("testing")
        return PolicyPublished(
            domain=domain,
            adkim=choose("adkim", norm.ALIGNMENTS, Alignment.UNKNOWN) or Alignment.RELAXED,
            aspf=choose("aspf", norm.ALIGNMENTS, Alignment.UNKNOWN) or Alignment.RELAXED,
            # p is required by both RFCs, but a missing one makes no count wrong.
            p=choose("p", norm.POLICIES, DmarcPolicy.UNKNOWN) or DmarcPolicy.UNKNOWN,
            sp=choose("sp", norm.POLICIES, DmarcPolicy.UNKNOWN),
            np=choose("np", norm.POLICIES, DmarcPolicy.UNKNOWN),
            pct=pct,
            fo=texts.get("fo") or None,
            testing=norm.yes_no(testing) if testing else None,
            discovery_method=choose("discovery_method", norm.DISCOVERY_METHODS, DiscoveryMethod.UNKNOWN),
            raw_values=raw_values,
        )

    # -- records ------------------------------------------------------------------------------------------

    def record(self, element: Element, index: int) -> AggregateRecord:
        """One `<record>`, one pass over each level: this is the loop that 100,000 records go through."""
        # Where-tuples rather than path strings: a path is only spelled out when something is wrong.
        at = (index, "")
        on_row = (index, ".row")
        on_evaluated = (index, ".row.policy_evaluated")
        _, parts = self.texts(element, at, ("row", "identifiers", "auth_results"))
        row, row_parts = self.texts(self.one(parts, "row", at), on_row, ("policy_evaluated",))
        source_ip = row.get("source_ip")
        count = row.get("count")
        if not source_ip or not count:
            raise invalid(_path(on_row, None, "count" if source_ip else "source_ip"), "missing or empty")
        try:
            source_ip = norm.ip_address(source_ip)
        except ValueError as error:
            raise invalid(_path(on_row, None, "source_ip"), str(error)) from None
        try:
            number = norm.whole_number(count)
        except ValueError as error:
            raise invalid(_path(on_row, None, "count"), str(error)) from None

        evaluated_element = self.one(row_parts, "policy_evaluated", on_row)
        evaluated, evaluated_parts = self.texts(evaluated_element, on_evaluated, ("reason",))
        disposition_text = evaluated.get("disposition")
        dkim_text = evaluated.get("dkim")
        spf_text = evaluated.get("spf")
        if disposition_text is None or dkim_text is None or spf_text is None:
            missing = "disposition" if disposition_text is None else "dkim" if dkim_text is None else "spf"
            raise invalid(_path(on_evaluated, None, missing), "missing")
        # Canonical values take one lookup; anything else goes through the alias table.
        disposition = _DISPOSITIONS.get(disposition_text)
        disposition_raw = None
        if disposition is None:
            disposition, disposition_raw = norm.enum_value(
                disposition_text, norm.DISPOSITIONS, Disposition.UNKNOWN
            )
        policy_dkim = _VERDICTS.get(dkim_text)
        policy_dkim_raw = None
        if policy_dkim is None:
            policy_dkim, policy_dkim_raw = norm.enum_value(dkim_text, norm.VERDICTS, DmarcVerdict.UNKNOWN)
        policy_spf = _VERDICTS.get(spf_text)
        policy_spf_raw = None
        if policy_spf is None:
            policy_spf, policy_spf_raw = norm.enum_value(spf_text, norm.VERDICTS, DmarcVerdict.UNKNOWN)

        on_identifiers = (index, ".identifiers")
        identifiers, _ = self.texts(self.one(parts, "identifiers", at), on_identifiers)
        header_from = identifiers.get("header_from", "").lower().rstrip(".")
        if not header_from:
            raise invalid(_path(on_identifiers, None, "header_from"), "missing or empty")
        envelope_from = identifiers.get("envelope_from", "").lower().rstrip(".")
        envelope_to = identifiers.get("envelope_to", "").lower().rstrip(".")
        auth = parts.get("auth_results")
        if auth is not None and len(auth) > 1:
            raise invalid(_path(at, None, "auth_results"), "appears twice")
        dkim_results, spf_results = self._auth_results(auth[0], index) if auth else ((), ())
        reasons = evaluated_parts.get("reason")
        intern = self.intern
        return AggregateRecord(
            source_ip,
            number,
            disposition,
            policy_dkim,
            policy_spf,
            intern(header_from, header_from),
            policy_dkim is _PASS or policy_spf is _PASS,
            intern(envelope_from, envelope_from) if envelope_from else None,
            intern(envelope_to, envelope_to) if envelope_to else None,
            self._reasons(reasons, index) if reasons else (),
            dkim_results,
            spf_results,
            disposition_raw,
            policy_dkim_raw,
            policy_spf_raw,
        )

    def _reasons(self, elements: list[Element], index: int) -> tuple[PolicyOverride, ...]:
        reasons: list[PolicyOverride] = []
        for position, element in enumerate(elements):
            texts, _ = self.texts(element, (index, ".row.policy_evaluated.reason"), position=position)
            kind_text = texts.get("type", "")
            comment = texts.get("comment") or None
            if not kind_text and comment is None:
                continue  # an empty placeholder: <reason><type/><comment/></reason>
            kind, raw = norm.enum_value(kind_text, norm.OVERRIDE_REASONS, OverrideReason.UNKNOWN)
            reasons.append(PolicyOverride(kind, comment, raw))
        return tuple(reasons)

    def _auth_results(
        self, auth: Element, index: int
    ) -> tuple[tuple[DkimAuthResult, ...], tuple[SpfAuthResult, ...]]:
        _, parts = self.texts(auth, (index, ".auth_results"), ("dkim", "spf"))
        on_dkim = (index, ".auth_results.dkim")
        on_spf = (index, ".auth_results.spf")
        intern = self.intern
        dkim: list[DkimAuthResult] = []
        for position, element in enumerate(parts.get("dkim", ())):
            texts, _ = self.texts(element, on_dkim, position=position)
            text = texts.get("result")
            if text is None:
                raise invalid(_path(on_dkim, position, "result"), "missing")
            result = _DKIM_RESULTS.get(text)
            raw = None
            if result is None:
                result, raw = norm.enum_value(text, norm.DKIM_RESULTS, DkimResult.UNKNOWN)
            domain = texts.get("domain", "").lower().rstrip(".")
            selector = texts.get("selector")
            human = texts.get("human_result")
            dkim.append(
                DkimAuthResult(
                    intern(domain, domain) if domain else None,
                    result,
                    intern(selector, selector) if selector else None,
                    intern(human, human) if human else None,
                    raw,
                )
            )
        spf: list[SpfAuthResult] = []
        for position, element in enumerate(parts.get("spf", ())):
            texts, _ = self.texts(element, on_spf, position=position)
            text = texts.get("result")
            if text is None:
                raise invalid(_path(on_spf, position, "result"), "missing")
            spf_result = _SPF_RESULTS.get(text)
            raw = None
            if spf_result is None:
                spf_result, raw = norm.enum_value(text, norm.SPF_RESULTS, SpfResult.UNKNOWN)
            scope_text = texts.get("scope")
            scope: SpfScope | None = None
            scope_raw = None
            if scope_text:
                scope = _SPF_SCOPES.get(scope_text)
                if scope is None:
                    scope, scope_raw = norm.enum_value(scope_text, norm.SPF_SCOPES, SpfScope.UNKNOWN)
            domain = texts.get("domain", "").lower().rstrip(".")
            human = texts.get("human_result")
            spf.append(
                SpfAuthResult(
                    intern(domain, domain) if domain else None,
                    spf_result,
                    scope,
                    intern(human, human) if human else None,
                    raw,
                    scope_raw,
                )
            )
        return tuple(dkim), tuple(spf)


def _path(where: Where, position: int | None, name: str) -> str:
    base = where if isinstance(where, str) else f"records[{where[0]}]{where[1]}"
    return f"{base}.{name}" if position is None else f"{base}[{position}].{name}"
