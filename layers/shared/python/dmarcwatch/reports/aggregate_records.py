"""From one `<record>` element to an `AggregateRecord`.

This runs once per record (100,000 in the largest reports), so the usual path is written for speed: one
pass over each element's children, texts read inline, canonical enum values found with a single lookup,
field paths and notes built only when something is off.

Lenient where a record can still be understood, each repair noted (see `deviations.py`):
- parts misplaced by one level (`<identifiers>` or `<auth_results>` inside `<row>`, `<policy_evaluated>`
  directly in `<record>`, a record without `<row>`);
- an enumerated value in another case or spelling, an alias (`pass` for the disposition `none`), or
  unknown (`unknown`, the text kept in the matching `*_raw` field);
- a missing disposition or `<policy_evaluated>` verdict is `unknown`, as is a DKIM or SPF result without
  `<result>`; empty `<dkim/>`/`<spf/>` placeholders are dropped;
- a missing `<header_from>` is the policy domain; an address there is read as its domain;
- a missing or empty `<envelope_from>` is the domain of the SPF `mfrom` result, which is that domain by
  definition of the scope (noted when the element was there but empty; leaving it out is common and
  allowed in practice, and taking the domain from the result is a reading, not a repair).
Strict where the numbers would be wrong: a record without a readable source address or count makes the
whole report invalid.

At most `Limits.max_auth_results` DKIM and as many SPF results are kept per record (a stored chunk of
records must fit a DynamoDB item); the others are counted for one summary note per report.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

from dmarcwatch.reports import normalize as norm
from dmarcwatch.reports.aggregate_fields import FieldReader, Where, path
from dmarcwatch.reports.deviations import quoted
from dmarcwatch.reports.errors import invalid
from dmarcwatch.reports.models import (
    AggregateRecord,
    Disposition,
    DkimAuthResult,
    DkimResult,
    DmarcVerdict,
    OverrideReason,
    PolicyOverride,
    SpfAuthResult,
    SpfResult,
    SpfScope,
)
from dmarcwatch.reports.normalize import E

_RECORD_PARTS = frozenset({"row", "identifiers", "auth_results", "policy_evaluated"})
_ROW_PARTS = frozenset({"policy_evaluated", "identifiers", "auth_results"})
_REASONS = frozenset({"reason"})
_AUTH_PARTS = frozenset({"dkim", "spf"})
_NONE: frozenset[str] = frozenset()
_PASS = DmarcVerdict.PASS


class RecordReader:
    """Reads the records of one report, and remembers what only the whole report can settle."""

    def __init__(self, fields: FieldReader) -> None:
        self.fields = fields
        self.notes = fields.notes
        self.max_auth = fields.limits.max_auth_results
        self.policy_domain: str | None = None  # set once <policy_published> is read
        self.awaiting_domain: list[AggregateRecord] = []  # without header_from, read before the policy
        self.dropped_dkim = 0
        self.dropped_spf = 0
        self.capped_records = 0

    def finish(self, policy_domain: str) -> None:
        """Settle what waited for the end of the report; add the summary of what the caps dropped."""
        for record in self.awaiting_domain:
            record.header_from = policy_domain
        if self.capped_records:
            self.notes.summary(
                f"auth_results beyond {self.max_auth} per record dropped: {self.dropped_dkim} DKIM and "
                f"{self.dropped_spf} SPF results, in {self.capped_records} "
                f"record{'' if self.capped_records == 1 else 's'}"
            )

    def record(self, element: Element, index: int) -> AggregateRecord:
        """One `<record>`, one pass over each level: this is the loop that 100,000 records go through."""
        fields = self.fields
        # Where-tuples rather than path strings: a path is only spelled out when something is wrong.
        at = (index, "")
        texts, parts = fields.texts(element, at, _RECORD_PARTS)
        row, row_parts = self._row(texts, parts, index)
        source_ip, number = self._source(row, index)
        evaluated, verdicts, reasons = self._policy_evaluated(row_parts, parts, index)

        disposition, disposition_raw = self._verdict(
            verdicts,
            "disposition",
            norm.CANONICAL_DISPOSITIONS,
            norm.DISPOSITIONS,
            Disposition.UNKNOWN,
            index,
            evaluated,
        )
        policy_dkim, policy_dkim_raw = self._verdict(
            verdicts, "dkim", norm.CANONICAL_VERDICTS, norm.VERDICTS, DmarcVerdict.UNKNOWN, index, evaluated
        )
        policy_spf, policy_spf_raw = self._verdict(
            verdicts, "spf", norm.CANONICAL_VERDICTS, norm.VERDICTS, DmarcVerdict.UNKNOWN, index, evaluated
        )

        identifiers = self._part(index, "identifiers", parts, at, row_parts, "row")
        names = fields.texts(identifiers, (index, ".identifiers"))[0] if identifiers is not None else {}
        header_from = names.get("header_from", "").lower().rstrip(".")
        if not header_from or "@" in header_from:
            header_from = self._header_from(header_from, index)
        given_envelope_from = names.get("envelope_from")
        envelope_from = given_envelope_from.lower().rstrip(".") if given_envelope_from else ""
        if "@" in envelope_from:
            envelope_from = self._domain_of("envelope_from", envelope_from, index)
        envelope_to = names.get("envelope_to", "").lower().rstrip(".")
        if "@" in envelope_to:
            envelope_to = self._domain_of("envelope_to", envelope_to, index)
        auth = self._part(index, "auth_results", parts, at, row_parts, "row")
        dkim_results, spf_results = self._auth_results(auth, index) if auth is not None else ((), ())
        if not envelope_from and spf_results:
            envelope_from = self._envelope_from(spf_results, index, given_envelope_from is not None)
        intern = fields.intern
        record = AggregateRecord(
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
        if not header_from:
            self.awaiting_domain.append(record)
        return record

    # -- row, parts and identifiers -----------------------------------------------------------------------

    def _row(
        self, texts: dict[str, str], parts: dict[str, list[Element]], index: int
    ) -> tuple[dict[str, str], dict[str, list[Element]]]:
        rows = parts.get("row")
        if rows is None:
            self.notes.record(index, "no <row>; its fields read from <record>")
            return texts, parts
        if len(rows) > 1:
            raise invalid(path((index, ""), None, "row"), "appears twice")
        return self.fields.texts(rows[0], (index, ".row"), _ROW_PARTS)

    def _policy_evaluated(
        self, row_parts: dict[str, list[Element]], parts: dict[str, list[Element]], index: int
    ) -> tuple[Element | None, dict[str, str], list[Element] | None]:
        """`<policy_evaluated>`, its texts and its reasons (none of them when it is missing)."""
        evaluated = self._part(index, "policy_evaluated", row_parts, (index, ".row"), parts, "record")
        if evaluated is None:
            self.notes.record(index, "no <policy_evaluated>; disposition and verdicts unknown")
            return None, {}, None
        verdicts, evaluated_parts = self.fields.texts(evaluated, (index, ".row.policy_evaluated"), _REASONS)
        return evaluated, verdicts, evaluated_parts.get("reason")

    def _source(self, row: dict[str, str], index: int) -> tuple[str, int]:
        source_text = row.get("source_ip")
        count_text = row.get("count")
        if not source_text or not count_text:
            missing = "count" if source_text else "source_ip"
            raise invalid(path((index, ".row"), None, missing), "missing or empty")
        try:
            source_ip, repair = norm.source_ip(source_text)
        except ValueError as error:
            raise invalid(path((index, ".row"), None, "source_ip"), str(error)) from None
        if repair:
            self.notes.record(index, repair)
        try:
            number, repair = norm.count(count_text)
        except ValueError as error:
            raise invalid(path((index, ".row"), None, "count"), str(error)) from None
        if repair:
            self.notes.record(index, repair)
        return source_ip, number

    def _part(
        self,
        index: int,
        name: str,
        home: dict[str, list[Element]],
        where: Where,
        away: dict[str, list[Element]],
        away_name: str,
    ) -> Element | None:
        """The one child `name` of its parent (`home`), or of the level next to it where it was misplaced."""
        found = home.get(name)
        if found is None:
            found = away.get(name)
            if found is None:
                return None
            self.notes.record(index, f"<{name}> found inside <{away_name}>")
        if len(found) > 1:
            raise invalid(path(where, None, name), "appears twice")
        return found[0]

    def _verdict(
        self,
        verdicts: dict[str, str],
        name: str,
        canonical: dict[str, E],
        aliases: dict[str, E],
        unknown: E,
        index: int,
        evaluated: Element | None,
    ) -> tuple[E, str | None]:
        """A policy_evaluated value: canonical values take one lookup; anything else goes through the
        alias table, with a note (and its raw text)."""
        text = verdicts.get(name)
        value = canonical.get(text) if text is not None else None
        if value is not None:
            return value, None
        return self._odd(text, name, aliases, unknown, index, evaluated)

    def _odd(
        self,
        text: str | None,
        name: str,
        table: dict[str, E],
        unknown: E,
        index: int,
        evaluated: Element | None,
    ) -> tuple[E, str | None]:
        """A policy_evaluated value that is not canonical or not there, with its note."""
        if text is None:
            if evaluated is not None:
                self.notes.record(index, f"no <{name}> in <policy_evaluated>; read as unknown")
            return unknown, None
        member, raw = norm.enum_value(text, table, unknown)
        self.notes.record(index, norm.enum_note(name, text, member, raw))
        return member, raw

    def _header_from(self, text: str, index: int) -> str:
        """The domain of a header_from that is an address or missing (the policy domain; "" until known)."""
        if text:
            domain = self._domain_of("header_from", text, index)
            if domain:
                return domain
        self.notes.record(index, "no header_from; read as the policy domain")
        return self.policy_domain or ""

    def _domain_of(self, name: str, address: str, index: int) -> str:
        domain = address.rpartition("@")[2].strip("<> ")
        self.notes.record(index, f"{name} {quoted(address)} read as its domain {quoted(domain)}")
        return domain

    def _envelope_from(self, spf_results: tuple[SpfAuthResult, ...], index: int, given: bool) -> str:
        """The domain of the SPF mfrom result, for an envelope_from left out (noted only if left empty)."""
        for result in spf_results:
            if result.scope is SpfScope.MFROM and result.domain:
                if given:
                    self.notes.record(index, "envelope_from empty; read as the SPF mfrom domain")
                return result.domain
        return ""

    def _reasons(self, elements: list[Element], index: int) -> tuple[PolicyOverride, ...]:
        reasons: list[PolicyOverride] = []
        for position, element in enumerate(elements):
            texts, _ = self.fields.texts(element, (index, ".row.policy_evaluated.reason"), position=position)
            kind_text = texts.get("type", "")
            comment = texts.get("comment") or None
            if not kind_text and comment is None:
                continue  # an empty placeholder: <reason><type/><comment/></reason>
            kind, raw = norm.enum_value(kind_text, norm.OVERRIDE_REASONS, OverrideReason.UNKNOWN)
            if kind.value != kind_text:
                self.notes.record(index, norm.enum_note("reason type", kind_text, kind, raw))
            reasons.append(PolicyOverride(kind, comment, raw))
        return tuple(reasons)

    # -- auth_results -------------------------------------------------------------------------------------

    def _auth_results(
        self, auth: Element, index: int
    ) -> tuple[tuple[DkimAuthResult, ...], tuple[SpfAuthResult, ...]]:
        fields = self.fields
        _, parts = fields.texts(auth, (index, ".auth_results"), _AUTH_PARTS)
        dkim_elements = parts.get("dkim", [])
        spf_elements = parts.get("spf", [])
        cap = self.max_auth
        if len(dkim_elements) > cap or len(spf_elements) > cap:
            self.capped_records += 1
            self.dropped_dkim += max(0, len(dkim_elements) - cap)
            self.dropped_spf += max(0, len(spf_elements) - cap)
            del dkim_elements[cap:], spf_elements[cap:]
        on_dkim = (index, ".auth_results.dkim")
        on_spf = (index, ".auth_results.spf")
        intern = fields.intern
        dkim: list[DkimAuthResult] = []
        for position, element in enumerate(dkim_elements):
            texts, _ = fields.texts(element, on_dkim, _NONE, position)
            text = texts.get("result")
            result = norm.CANONICAL_DKIM_RESULTS.get(text) if text is not None else None
            raw = None
            if result is None:
                if not any(texts.values()):
                    self.notes.record(index, "an empty <dkim> result dropped")
                    continue
                result, raw = self._result(text, "DKIM result", norm.DKIM_RESULTS, DkimResult.UNKNOWN, index)
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
        for position, element in enumerate(spf_elements):
            texts, _ = fields.texts(element, on_spf, _NONE, position)
            text = texts.get("result")
            spf_result = norm.CANONICAL_SPF_RESULTS.get(text) if text is not None else None
            raw = None
            if spf_result is None:
                if not any(texts.values()):
                    self.notes.record(index, "an empty <spf> result dropped")
                    continue
                spf_result, raw = self._result(text, "SPF result", norm.SPF_RESULTS, SpfResult.UNKNOWN, index)
            scope_text = texts.get("scope")
            scope: SpfScope | None = None
            scope_raw = None
            if scope_text:
                scope = norm.CANONICAL_SPF_SCOPES.get(scope_text)
                if scope is None:
                    scope, scope_raw = self._result(
                        scope_text, "SPF scope", norm.SPF_SCOPES, SpfScope.UNKNOWN, index
                    )
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

    def _result(
        self, text: str | None, name: str, table: dict[str, E], unknown: E, index: int
    ) -> tuple[E, str | None]:
        """An auth result (or scope) that is not canonical or not there, with its note."""
        if text is None:
            self.notes.record(index, f"{name} missing; read as unknown")
            return unknown, None
        member, raw = norm.enum_value(text, table, unknown)
        self.notes.record(index, norm.enum_note(name, text, member, raw))
        return member, raw
