"""Reading the elements of one `<feedback>`: names, texts, and the report's metadata and published policy.

`FieldReader` knows the element names (with their namespace) and the text caps; `aggregate_records.py`
reads records with it. Element names are matched exactly first (one dict lookup, the path almost every
report takes); a name a reporter spelled differently (`<Record>`, `<source-ip>`, `<SourceIP>`,
`<identities>` for `<identifiers>`) is read as the element it clearly is, once per report with a note.
Elements in a foreign namespace are vendor extensions and ignored, even where their local name is ours.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from xml.etree.ElementTree import Element

from dmarcwatch.reports import normalize as norm
from dmarcwatch.reports.deviations import Deviations, quoted
from dmarcwatch.reports.errors import ReasonCode, ReportError, invalid
from dmarcwatch.reports.limits import Limits
from dmarcwatch.reports.models import (
    Alignment,
    DateRange,
    DiscoveryMethod,
    DmarcPolicy,
    PolicyPublished,
    ReportMetadata,
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
# The children that make a `<feedback>`: a root holding one of these first is a renamed `<feedback>`.
FEEDBACK_PARTS = frozenset(_FEEDBACK) - {"feedback"}
# Without case, `-` or `_` (`SourceIP`, `source-ip`), and names other parsers met in the wild.
_SQUASHED = {name.replace("_", ""): name for name in NAMES}
_RENAMED = {"identities": "identifiers"}
# Namespaces whose elements are ours whatever the namespace of `<feedback>`: RFC 9990's, RFC 7489's schema.
DMARC_NAMESPACES = frozenset({"urn:ietf:params:xml:ns:dmarc-2.0", "http://dmarc.org/dmarc-xml/0.1"})
# Tags remembered once folded (to a name, or as foreign): a cache, so a document spelling its names in a
# million ways costs lookups, not memory.
_MAX_FOLDED = 1024

_NONE: frozenset[str] = frozenset()
_METADATA_GROUPS = frozenset({"date_range", "error"})

# Where an element is, for error messages: a path (`report_metadata`) or (record index, path in the record).
Where = str | tuple[int, str]


@lru_cache(maxsize=16)
def _known_tags(namespaces: frozenset[str]) -> dict[str, str]:
    """Tag -> element name, for every name in each of `namespaces` (built once, copied per report)."""
    return {f"{{{uri}}}{name}" if uri else name: name for uri in namespaces for name in NAMES}


def split_tag(tag: str) -> tuple[str, str]:
    """(namespace, local name) of an ElementTree tag."""
    if tag[:1] == "{":
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return "", tag


def canonical_name(local: str) -> str | None:
    """The element a local name means, ignoring case, `-` for `_` and missing underscores; None if none."""
    key = local.lower().replace("-", "_")
    if key in NAMES:
        return key
    return _RENAMED.get(key) or _SQUASHED.get(key.replace("_", ""))


def path(where: Where, position: int | None, name: str) -> str:
    base = where if isinstance(where, str) else f"records[{where[0]}]{where[1]}"
    return f"{base}.{name}" if position is None else f"{base}[{position}].{name}"


class FieldReader:
    """Reads the children of `<feedback>` for one report (names, caps, notes and string cache included)."""

    def __init__(self, namespace: str, limits: Limits, notes: Deviations) -> None:
        self.namespaces = frozenset({"", namespace} | DMARC_NAMESPACES)
        self.known = dict(_known_tags(self.namespaces))  # grows by the names folded in this report
        self.foreign: set[str] = set()
        self.cache_size = len(self.known) + _MAX_FOLDED
        self.max_text = limits.max_text_length
        self.limits = limits
        self.notes = notes
        self.errors_unlisted = 0  # reporter <error> texts beyond the cap
        cache: dict[str, str] = {}
        # Domains, selectors and results repeat across records: share one string object for each.
        self.intern: Callable[[str, str], str] = cache.setdefault

    # -- generic ------------------------------------------------------------------------------------------

    def name(self, tag: str) -> str | None:
        """The canonical name of an element; None for one that is not ours."""
        name = self.known.get(tag)
        return name if name is not None or tag in self.foreign else self._fold(tag)

    def _fold(self, tag: str) -> str | None:
        namespace, local = split_tag(tag)
        name = canonical_name(local) if namespace in self.namespaces else None
        cache = len(self.foreign) + len(self.known) < self.cache_size
        if name is None:
            if cache:
                self.foreign.add(tag)
            return None
        if cache:
            self.known[tag] = name
        self.notes.note(f"element <{local[:40]}> read as <{name}>")
        return name

    def texts(
        self, element: Element, where: Where, groups: frozenset[str] = _NONE, position: int | None = None
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
                name = self.name(child.tag)
                if name is None:
                    continue
            if name in groups:
                grouped.setdefault(name, []).append(child)
                continue
            if name in texts:
                raise invalid(path(where, position, name), "appears twice")
            text = child.text
            if text is None:
                texts[name] = ""
            elif len(text) > max_text:
                field = path(where, position, name)
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
            raise invalid(path(where, None, name), "missing" if not elements else "appears twice")
        return elements[0]

    @staticmethod
    def required(texts: dict[str, str], name: str, where: str) -> str:
        text = texts.get(name)
        if text is None:
            raise invalid(f"{where}.{name}", "missing")
        if not text:
            raise invalid(f"{where}.{name}", "empty")
        return text

    def leaf(self, element: Element, where: str) -> str:
        text = element.text or ""
        if len(text) > self.max_text:
            raise ReportError(
                ReasonCode.TEXT_TOO_LONG, f"{where}: text longer than {self.max_text} characters", field=where
            )
        return text.strip()

    # -- report_metadata ----------------------------------------------------------------------------------

    def metadata(self, element: Element) -> ReportMetadata:
        where = "report_metadata"
        texts, grouped = self.texts(element, where, _METADATA_GROUPS)
        if "date_range" not in grouped and "begin" in texts and "end" in texts:
            self.notes.note("<begin> and <end> directly in <report_metadata>, without <date_range>")
            dates = texts
        else:
            dates, _ = self.texts(self.one(grouped, "date_range", where), f"{where}.date_range")
        begin = self._timestamp(dates, "begin", f"{where}.date_range")
        end = self._timestamp(dates, "end", f"{where}.date_range")
        if end < begin:
            raise invalid(f"{where}.date_range", "ends before it begins")
        given_id = self.required(texts, "report_id", where)
        report_id = norm.report_id(given_id)
        if not report_id:
            raise invalid(f"{where}.report_id", "empty")
        if report_id != given_id:
            self.notes.note(f"report_id {quoted(given_id)} read as {quoted(report_id)}")
        email = texts.get("email") or None
        org_name = texts.get("org_name")
        if not org_name:
            # A few reporters leave org_name empty; the domain of their address names them as well.
            if email is None or "@" not in email:
                raise invalid(f"{where}.org_name", "missing, and no email to name the reporter")
            org_name = email.rpartition("@")[2].strip("<> ").lower()
            self.notes.note(f"org_name missing; named after the email domain {quoted(org_name)}")
        return ReportMetadata(
            org_name=org_name,
            email=email,
            extra_contact_info=texts.get("extra_contact_info") or None,
            report_id=report_id,
            date_range=DateRange(begin=begin, end=end),
            errors=self._reporter_errors(grouped.get("error", [])),
            generator=texts.get("generator") or None,
        )

    def _reporter_errors(self, elements: list[Element]) -> list[str]:
        """The reporter's `<error>` texts: at most the cap, each cut to the entry length."""
        errors: list[str] = []
        limit, length = self.limits.max_report_errors, self.limits.max_error_length
        for index, child in enumerate(elements):
            text = self.leaf(child, f"report_metadata.error[{index}]")
            if not text:
                continue
            if len(errors) < limit:
                errors.append(text if len(text) <= length else text[: length - 1] + "…")
            else:
                self.errors_unlisted += 1
        return errors

    def _timestamp(self, texts: dict[str, str], name: str, where: str) -> datetime:
        raw = self.required(texts, name, where)
        try:
            value, repair = norm.timestamp(raw)
        except ValueError as error:
            raise invalid(f"{where}.{name}", str(error)) from None
        if repair:
            self.notes.note(f"date_range {name} {quoted(raw)} read as {int(value.timestamp())} ({repair})")
        return value

    # -- policy_published ---------------------------------------------------------------------------------

    def policy(self, element: Element) -> PolicyPublished:
        where = "policy_published"
        texts, _ = self.texts(element, where)
        raw_values: dict[str, str] = {}
        notes = self.notes

        def choose(name: str, table: dict[str, E], unknown: E) -> E | None:
            text = texts.get(name)
            if not text:
                return None
            member = table.get(text)
            if member is not None and member == text:
                return member  # the canonical value: nothing to note or keep
            member, raw = norm.enum_value(text, table, unknown)
            if raw is not None:
                raw_values[name] = raw
            if member.value != text:
                notes.note(f"{where}: {norm.enum_note(name, text, member, raw)}")
            return member

        domain = norm.domain(self.required(texts, "domain", where))
        if domain is None:
            raise invalid(f"{where}.domain", "empty")
        p = choose("p", norm.POLICIES, DmarcPolicy.UNKNOWN)
        if p is None:
            # p is required by both RFCs, but a missing one makes no count wrong.
            notes.note(f"{where}: no <p>; the policy is unknown")
        return PolicyPublished(
            domain=domain,
            adkim=choose("adkim", norm.ALIGNMENTS, Alignment.UNKNOWN) or Alignment.RELAXED,
            aspf=choose("aspf", norm.ALIGNMENTS, Alignment.UNKNOWN) or Alignment.RELAXED,
            p=p or DmarcPolicy.UNKNOWN,
            sp=choose("sp", norm.POLICIES, DmarcPolicy.UNKNOWN),
            np=choose("np", norm.POLICIES, DmarcPolicy.UNKNOWN),
            pct=self._pct(texts.get("pct"), raw_values),
            fo=self._fo(texts.get("fo"), raw_values),
            testing=self._testing(texts.get("testing"), raw_values),
            discovery_method=choose("discovery_method", norm.DISCOVERY_METHODS, DiscoveryMethod.UNKNOWN),
            raw_values=raw_values,
        )

    def _pct(self, text: str | None, raw_values: dict[str, str]) -> int:
        """pct, 100 when absent (RFC 9990 dropped it); `50%` is read, a value outside 0-100 is kept raw."""
        if not text:
            return 100
        try:
            pct = norm.whole_number(text.removesuffix("%").strip())
        except ValueError:
            pct = -1
        if 0 <= pct <= 100:
            if text.endswith("%"):
                self.notes.note(f"policy_published: pct {quoted(text)} read as {pct}")
            return pct
        raw_values["pct"] = text
        self.notes.note(f"policy_published: pct {quoted(text)} is not a percentage; read as 100")
        return 100

    def _fo(self, text: str | None, raw_values: dict[str, str]) -> str | None:
        if not text:
            return None
        fo, understood = norm.failure_options(text)
        if fo == text:
            return fo
        if not understood:
            raw_values["fo"] = text
            kept = quoted(fo) if fo else "none"
            self.notes.note(f"policy_published: fo {quoted(text)} has unknown options; read as {kept}")
        elif fo != text.lower():
            raw_values["fo"] = text
            self.notes.note(f"policy_published: fo {quoted(text)} read as {quoted(fo or '')}")
        return fo

    def _testing(self, text: str | None, raw_values: dict[str, str]) -> bool | None:
        if not text:
            return None
        testing = norm.yes_no(text)
        if text in ("y", "n"):
            return testing
        if testing is None:
            raw_values["testing"] = text
            self.notes.note(f"policy_published: testing {quoted(text)} is neither y nor n; left unknown")
        else:
            self.notes.note(f"policy_published: testing {quoted(text)} read as '{'y' if testing else 'n'}'")
        return testing
