"""The fast path for a `<record>` written exactly as RFC 7489 / RFC 9990 lay it out.

Almost every record of almost every report has the same shape: `<row>` (source_ip, count,
policy_evaluated), `<identifiers>`, `<auth_results>`, canonical values, nothing to repair. `CanonicalRecords`
reads such a record in one pass, each child put in its slot by one lookup of its tag; identifier domains and
whole `<dkim>`/`<spf>` results are looked up by their texts among those already read (they repeat across
records, which then share one result object). It takes about 60% of the time of the general reader
(`aggregate_records.RecordReader`), which builds the texts of every level and handles every departure.

It gives up (returns None) at the first thing that is not canonical: a misplaced, repeated, renamed,
foreign or unexpected element, a text over the cap, a value to normalise or an alias, an address to reduce to
its domain, a missing part, more auth results than the cap. It records no note and raises nothing, so the
general reader then reads the record from scratch, notes and errors included: a record comes out the same
whichever reader took it (`tests/unit/reports/test_reports_canonical.py` compares both on every fixture).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from xml.etree.ElementTree import Element

from dmarcwatch.reports import normalize as norm
from dmarcwatch.reports.aggregate_fields import FieldReader
from dmarcwatch.reports.models import (
    AggregateRecord,
    Disposition,
    DkimAuthResult,
    DmarcVerdict,
    PolicyOverride,
    SpfAuthResult,
    SpfScope,
)

_VERDICT_TABLES: tuple[dict[str, Any], ...] = (
    norm.CANONICAL_DISPOSITIONS,
    norm.CANONICAL_VERDICTS,
    norm.CANONICAL_VERDICTS,
)
_PASS = DmarcVerdict.PASS
_MFROM = SpfScope.MFROM

# The children each level may have, by slot. Anything else sends the record to the general reader.
_RECORD = ("row", "identifiers", "auth_results")
_ROW = ("source_ip", "count", "policy_evaluated")
_EVALUATED = ("disposition", "dkim", "spf", "reason")
_REASON = ("type", "comment")
_IDENTIFIERS = ("header_from", "envelope_from", "envelope_to")
_AUTH = ("dkim", "spf")
# DKIM and SPF results alike: domain, selector or scope, result, human_result.
_DKIM = ("domain", "selector", "result", "human_result")
_SPF = ("domain", "scope", "result", "human_result")
_LEVELS = (_RECORD, _ROW, _EVALUATED, _REASON, _IDENTIFIERS, _AUTH, _DKIM, _SPF)

# Texts remembered with their normalised form: bounded in number and length, so that a hostile document
# costs lookups, not memory.
_MAX_CACHED = 4096
_MAX_CACHED_LENGTH = 255

Slots = dict[str, int]


@lru_cache(maxsize=16)
def _slot_tables(namespaces: frozenset[str]) -> tuple[Slots, ...]:
    """For each level, tag -> slot, for the names in every namespace a report's elements may use."""
    prefixes = [f"{{{uri}}}" if uri else "" for uri in namespaces]
    return tuple(
        {prefix + name: slot for prefix in prefixes for slot, name in enumerate(level)} for level in _LEVELS
    )


class CanonicalRecords:
    """Reads the canonical records of one report (see the module docstring); None for any other."""

    def __init__(self, fields: FieldReader) -> None:
        (
            self.record_slots,
            self.row_slots,
            self.evaluated_slots,
            self.reason_slots,
            self.identifier_slots,
            self.auth_slots,
            self.dkim_slots,
            self.spf_slots,
        ) = _slot_tables(fields.namespaces)
        self.result_slots = (self.dkim_slots, self.spf_slots)
        # The texts of a <dkim> or <spf> -> the result read from them: a report repeats a few of them in
        # every record. Records are read-only, so they may share one.
        self.results: tuple[dict[tuple[str | None, ...], Any], ...] = ({}, {})
        self.max_text = fields.max_text
        self.max_auth = fields.limits.max_auth_results
        self.intern = fields.intern
        # Element text (None for an element left out) -> the domain it names: stripped, lower case, without
        # a trailing dot; "" for an empty element.
        self.domains: dict[str | None, str] = {None: "", "": ""}

    def read(self, element: Element) -> AggregateRecord | None:
        parts = _children(element, self.record_slots, 3)
        if parts is None:
            return None
        row, identifiers, auth = parts
        if row is None or identifiers is None:
            return None
        cells = _children(row, self.row_slots, 3)
        if cells is None:
            return None
        source, count, evaluated_element = cells
        if source is None or count is None or evaluated_element is None:
            return None
        source_ip, number = self._source(source.text, count.text)
        evaluated = self._evaluated(evaluated_element)
        names = _texts(identifiers, self.identifier_slots, 3)
        if source_ip is None or evaluated is None or names is None:
            return None
        header_text, given, to_text = names
        domains = self.domains
        header_from = domains.get(header_text) or self._domain(header_text)
        envelope_from = domains.get(given)
        if envelope_from is None:
            envelope_from = self._domain(given)
        envelope_to = domains.get(to_text)
        if envelope_to is None:
            envelope_to = self._domain(to_text)
        if not header_from or envelope_from is None or envelope_to is None:
            return None
        dkim_results: tuple[DkimAuthResult, ...] = ()
        spf_results: tuple[SpfAuthResult, ...] = ()
        if auth is not None:
            results = self._auth_results(auth)
            if results is None:
                return None
            dkim_results, spf_results = results
        if not envelope_from:
            envelope_from = _mfrom_domain(spf_results)
            if envelope_from and given is not None:
                return None  # given but empty: the general reader notes where it came from
        disposition, policy_dkim, policy_spf, reasons = evaluated
        return AggregateRecord(
            source_ip,
            number,
            disposition,
            policy_dkim,
            policy_spf,
            header_from,
            policy_dkim is _PASS or policy_spf is _PASS,
            envelope_from or None,
            envelope_to or None,
            reasons,
            dkim_results,
            spf_results,
        )

    # -- texts --------------------------------------------------------------------------------------------

    def _domain(self, text: str | None) -> str | None:
        """The domain a text names, remembered while the cache has room; None for an address or a text over
        the cap (the general reader reduces the one, refuses the other)."""
        if text is None:
            return ""
        if len(text) > self.max_text:
            return None
        domain = text.strip().lower().rstrip(".")
        if "@" in domain:
            return None
        domain = self.intern(domain, domain)
        if len(self.domains) < _MAX_CACHED and len(text) <= _MAX_CACHED_LENGTH:
            self.domains[text] = domain
        return domain

    def _text(self, text: str | None) -> str | None:
        """A text stripped (one object for each distinct text); None when over the cap."""
        if text is None:
            return ""
        if len(text) > self.max_text:
            return None
        value = text.strip()
        return self.intern(value, value)

    # -- row ----------------------------------------------------------------------------------------------

    def _source(self, source: str | None, count: str | None) -> tuple[str | None, int]:
        """The source address and count when both are given as they should be; (None, 0) otherwise."""
        if not source or not count or len(source) > self.max_text or len(count) > self.max_text:
            return None, 0
        try:
            address, repair = norm.source_ip(source.strip())
            number = norm.whole_number(count.strip())
        except ValueError:
            return None, 0
        return (None, 0) if repair else (address, number)

    def _evaluated(
        self, element: Element
    ) -> tuple[Disposition, DmarcVerdict, DmarcVerdict, tuple[PolicyOverride, ...]] | None:
        """Disposition, the two verdicts and the reasons of a `<policy_evaluated>` with canonical values."""
        verdicts: list[Any] = [None, None, None]
        reasons: list[Element] = []
        slots = self.evaluated_slots
        for child in element:
            slot = slots.get(child.tag)
            if slot == 3:
                reasons.append(child)
                continue
            text = child.text
            if slot is None or text is None or verdicts[slot] is not None:
                return None
            table = _VERDICT_TABLES[slot]
            value = table.get(text) or table.get(text.strip())
            if value is None or len(text) > self.max_text:
                return None
            verdicts[slot] = value
        disposition, policy_dkim, policy_spf = verdicts
        if disposition is None or policy_dkim is None or policy_spf is None:
            return None
        overrides = self._reasons(reasons) if reasons else ()
        if overrides is None:
            return None
        return disposition, policy_dkim, policy_spf, overrides

    def _reasons(self, elements: list[Element]) -> tuple[PolicyOverride, ...] | None:
        """Reasons with a canonical type; empty placeholders (`<reason><type/><comment/></reason>`) go."""
        reasons: list[PolicyOverride] = []
        for element in elements:
            texts = _texts(element, self.reason_slots, 2)
            if texts is None:
                return None
            kind_text, comment = texts
            if len(kind_text or "") > self.max_text or len(comment or "") > self.max_text:
                return None
            kind_text = kind_text.strip() if kind_text else ""
            comment = comment.strip() if comment else ""
            kind = norm.CANONICAL_OVERRIDE_REASONS.get(kind_text)
            if kind is not None:
                reasons.append(PolicyOverride(kind, comment or None))
            elif kind_text or comment:
                return None  # an odd type, or a comment without one: noted by the general reader
        return tuple(reasons)

    # -- auth_results -------------------------------------------------------------------------------------

    def _auth_results(
        self, element: Element
    ) -> tuple[tuple[DkimAuthResult, ...], tuple[SpfAuthResult, ...]] | None:
        found: tuple[list[Any], list[Any]] = ([], [])  # DKIM, SPF
        slots = self.auth_slots
        for child in element:
            kind = slots.get(child.tag)
            if kind is None:
                return None
            texts = _texts(child, self.result_slots[kind], 4)
            if texts is None:
                return None
            result = self.results[kind].get(tuple(texts)) or self._auth_result(kind, texts)
            if result is None:
                return None
            found[kind].append(result)
        dkim, spf = found
        if len(dkim) > self.max_auth or len(spf) > self.max_auth:
            return None
        return tuple(dkim), tuple(spf)

    def _auth_result(self, kind: int, texts: list[str | None]) -> DkimAuthResult | SpfAuthResult | None:
        """A canonical `<dkim>` (kind 0) or `<spf>` (1) from its texts: domain, selector or scope, result,
        human result."""
        domain_text, middle_text, result_text, human_text = texts
        if result_text is None or len(result_text) > self.max_text:
            return None
        table: dict[str, Any] = norm.CANONICAL_SPF_RESULTS if kind else norm.CANONICAL_DKIM_RESULTS
        result = table.get(result_text.strip())
        domain = self.domains.get(domain_text)
        if domain is None:
            domain = self._domain(domain_text)
        middle = self._text(middle_text)
        human = self._text(human_text)
        if result is None or domain is None or middle is None or human is None:
            return None
        read: DkimAuthResult | SpfAuthResult
        if kind:
            scope = norm.CANONICAL_SPF_SCOPES.get(middle) if middle else None
            if middle and scope is None:
                return None
            read = SpfAuthResult(domain or None, result, scope, human or None)
        else:
            read = DkimAuthResult(domain or None, result, middle or None, human or None)
        cache = self.results[kind]
        size = len(domain_text or "") + len(middle_text or "") + len(result_text) + len(human_text or "")
        if len(cache) < _MAX_CACHED and size <= _MAX_CACHED_LENGTH:
            cache[tuple(texts)] = read
        return read


def _children(element: Element, slots: Slots, size: int) -> list[Element | None] | None:
    """The children of `element` by slot; None if one is not expected there or comes twice."""
    found: list[Element | None] = [None] * size
    for child in element:
        slot = slots.get(child.tag)
        if slot is None or found[slot] is not None:
            return None
        found[slot] = child
    return found


def _texts(element: Element, slots: Slots, size: int) -> list[str | None] | None:
    """The texts of the children of `element` by slot ("" for an empty one, None for one left out); None
    if a child is not expected there or comes twice."""
    texts: list[str | None] = [None] * size
    for child in element:
        slot = slots.get(child.tag)
        if slot is None or texts[slot] is not None:
            return None
        texts[slot] = child.text or ""
    return texts


def _mfrom_domain(spf_results: tuple[SpfAuthResult, ...]) -> str:
    for result in spf_results:
        if result.scope is _MFROM and result.domain:
            return result.domain
    return ""
