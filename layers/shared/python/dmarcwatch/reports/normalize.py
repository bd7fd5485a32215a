"""Turning the text reporters actually send into canonical values.

Lenient where real reporters are known to deviate (case, spaces or `-` for `_`, `hardfail`, `temp_error`,
`<id>` brackets, `1,234`, float or millisecond timestamps, IPv4-mapped IPv6 addresses, empty optional
elements), strict where accepting would make the numbers wrong (a count that is not a whole number, an
address that is not an IP address, a date range that ends before it begins).

The lenient readers return the value and, when they had to repair the text, a few words saying how, for
the report's deviation notes (`deviations.py`).
"""

from __future__ import annotations

import re
import socket
from datetime import UTC, datetime
from enum import StrEnum
from typing import TypeVar

from dmarcwatch.reports.deviations import quoted
from dmarcwatch.reports.models import (
    Alignment,
    DiscoveryMethod,
    Disposition,
    DkimResult,
    DmarcPolicy,
    DmarcVerdict,
    OverrideReason,
    SpfResult,
    SpfScope,
)

E = TypeVar("E", bound=StrEnum)

# Seconds since the epoch that fit a datetime (years 1970..9999).
_MAX_EPOCH = 253402300799


def _squash(key: str) -> str:
    return key.replace("_", "")


def _table(enum: type[E], **aliases: E) -> dict[str, E]:
    """Canonical values, the same without underscores (`mailinglist`, `temperror`), and aliases."""
    table = {member.value: member for member in enum if member.value != "unknown"}
    table.update({_squash(member.value): member for member in table.values()})
    table.update(aliases)
    return table


DISPOSITIONS = _table(Disposition, **{"pass": Disposition.NONE, "deliver": Disposition.NONE})
POLICIES = _table(DmarcPolicy)
ALIGNMENTS = _table(Alignment, relaxed=Alignment.RELAXED, strict=Alignment.STRICT)
# A policy_evaluated verdict is pass or fail; other SPF-style words a few reporters write there all mean
# "no aligned pass".
VERDICTS = _table(
    DmarcVerdict,
    hardfail=DmarcVerdict.FAIL,
    softfail=DmarcVerdict.FAIL,
    none=DmarcVerdict.FAIL,
    neutral=DmarcVerdict.FAIL,
)
_ERRORS: dict[str, str] = {
    "temp_error": "temperror",
    "temperr": "temperror",
    "perm_error": "permerror",
    "permerr": "permerror",
}
DKIM_RESULTS = _table(DkimResult, hardfail=DkimResult.FAIL, **{k: DkimResult(v) for k, v in _ERRORS.items()})
SPF_RESULTS = _table(SpfResult, hardfail=SpfResult.FAIL, **{k: SpfResult(v) for k, v in _ERRORS.items()})
SPF_SCOPES = _table(SpfScope, mail_from=SpfScope.MFROM, envelope_from=SpfScope.MFROM, ehlo=SpfScope.HELO)
OVERRIDE_REASONS = _table(OverrideReason)
DISCOVERY_METHODS = _table(DiscoveryMethod)


def _canonical(table: dict[str, E]) -> dict[str, E]:
    return {key: member for key, member in table.items() if key == member.value}


# The canonical values alone: what a reader can take in one lookup, with neither a note nor a raw copy.
CANONICAL_DISPOSITIONS = _canonical(DISPOSITIONS)
CANONICAL_VERDICTS = _canonical(VERDICTS)
CANONICAL_DKIM_RESULTS = _canonical(DKIM_RESULTS)
CANONICAL_SPF_RESULTS = _canonical(SPF_RESULTS)
CANONICAL_SPF_SCOPES = _canonical(SPF_SCOPES)
CANONICAL_OVERRIDE_REASONS = _canonical(OVERRIDE_REASONS)
_YES = frozenset({"y", "yes", "true", "1"})
_NO = frozenset({"n", "no", "false", "0"})


def enum_value(raw: str, table: dict[str, E], unknown: E) -> tuple[E, str | None]:
    """The canonical member for `raw` and the raw text to keep (None when `raw` was the canonical word).

    Matching ignores case, surrounding space, `-` or a space for `_`, and a missing `_`. The raw text is
    kept unless only case, space or `-` for `_` differ.
    """
    key = raw.strip().lower().replace("-", "_").replace(" ", "_")
    member = table.get(key)
    if member is None:
        return unknown, raw
    return member, (None if key == member.value else raw)


def report_id(raw: str) -> str:
    """Report ids sometimes arrive as `<id@host>`, copied from a Message-ID."""
    if len(raw) > 2 and raw[0] == "<" and raw[-1] == ">":
        return raw[1:-1].strip()
    return raw


def domain(raw: str) -> str | None:
    """Lower case, without a trailing dot; None for an empty element."""
    value = raw.lower().rstrip(".")
    return value or None


def enum_note(name: str, raw: str, member: StrEnum, raw_kept: str | None) -> str:
    """The deviation note for an enumerated value that was not given in its canonical form."""
    if not raw:
        return f"{name} empty; read as '{member.value}'"
    if raw_kept is not None and member.value == "unknown":
        return f"{name} {quoted(raw)} is not a known value; kept as unknown"
    verb = "read as" if raw_kept is not None else "normalised to"
    return f"{name} {quoted(raw)} {verb} '{member.value}'"


def ip_address(raw: str) -> str:
    """The canonical text of an IPv4 or IPv6 address; ValueError for anything else.

    inet_pton is strict (no leading zeros, no shorthand IPv4, no scope id) and twenty times faster than
    `ipaddress`, which matters at 100,000 records.
    """
    family = socket.AF_INET6 if ":" in raw else socket.AF_INET  # every IPv6 text has a colon, no IPv4 one
    try:
        return socket.inet_ntop(family, socket.inet_pton(family, raw))
    except (OSError, ValueError):
        raise ValueError(f"not an IP address: {raw[:64]!r}") from None


_PADDED_IPV4 = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")


def source_ip(raw: str) -> tuple[str, str | None]:
    """A record's source address, also from `[192.0.2.1]`, `192.000.002.001`, `fe80::1%eth0` and an
    IPv4-mapped IPv6 address (read as the IPv4 address it carries); ValueError for anything else."""
    try:
        address = ip_address(raw)
    except ValueError:
        text = raw
        if text.startswith("[") and text.endswith("]"):
            text = text[1:-1].strip()
        text = text.partition("%")[0]  # an IPv6 zone: meaningless outside the receiver
        if _PADDED_IPV4.fullmatch(text):
            text = ".".join(str(int(part)) for part in text.split("."))
        address = ip_address(text)  # raises for what is still not an address
        return _unmapped(address), f"source_ip {quoted(raw)} read as '{_unmapped(address)}'"
    if address.startswith("::ffff:") and "." in address:
        return address[7:], f"source_ip {quoted(raw)} read as '{address[7:]}'"
    return address, None


def _unmapped(address: str) -> str:
    return address[7:] if address.startswith("::ffff:") and "." in address else address


_THOUSANDS = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+")


def count(raw: str) -> tuple[int, str | None]:
    """A message count; one written with thousands separators (`1,234`) is read, with a note."""
    try:
        return whole_number(raw), None
    except ValueError:
        if _THOUSANDS.fullmatch(raw):
            return int(raw.replace(",", "")), f"count {quoted(raw)} read as {raw.replace(',', '')}"
        raise


def whole_number(raw: str) -> int:
    """A non-negative integer in plain decimal below 10**15; ValueError otherwise (no sign, decimals, `1e3`).

    No honest count or timestamp comes near the bound; a larger one is corrupt data, not a big report.
    """
    if not raw.isascii() or not raw.isdigit() or len(raw) > 15:
        raise ValueError(f"not a whole number below 10**15: {raw[:64]!r}")
    return int(raw)


def epoch(raw: str) -> datetime:
    """A UTC datetime from seconds since the epoch."""
    seconds = whole_number(raw)
    if seconds > _MAX_EPOCH:
        raise ValueError(f"timestamp out of range: {raw[:64]!r}")
    return datetime.fromtimestamp(seconds, UTC)


_FRACTIONAL = re.compile(r"([0-9]{1,15})\.[0-9]{1,9}")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9:.]+)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?")


def timestamp(raw: str) -> tuple[datetime, str | None]:
    """A date_range bound: seconds since the epoch, also as `1700000000.0`, in milliseconds, or as an ISO
    8601 date (UTC unless it says otherwise); ValueError for anything else."""
    try:
        return epoch(raw), None
    except ValueError:
        pass
    fractional = _FRACTIONAL.fullmatch(raw)
    if fractional:
        return epoch(fractional.group(1)), "its fraction of a second dropped"
    if raw.isascii() and raw.isdigit() and 13 <= len(raw) <= 15:
        return epoch(raw[:-3]), "milliseconds"
    if _ISO_DATE.fullmatch(raw):
        try:
            value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
            return value, "an ISO 8601 date"
    return epoch(raw), None  # raises with the reason


def yes_no(raw: str) -> bool | None:
    """RFC 9990 `testing`: y or n (also yes/no, true/false, 1/0); None for anything else."""
    key = raw.strip().lower()
    return True if key in _YES else False if key in _NO else None


_FO_OPTIONS = frozenset({"0", "1", "d", "s"})
_FO_SEPARATORS = re.compile(r"[\s:;,]+")


def failure_options(raw: str) -> tuple[str | None, bool]:
    """`fo` in its canonical form (`1:d`), and whether every option in it exists.

    Other separators (`1,d`, `1 : d`), case and repeats are read; options that do not exist are dropped.
    """
    if raw in _FO_OPTIONS:
        return raw, True  # one option, as almost every report writes it
    tokens = [token for token in _FO_SEPARATORS.split(raw.lower()) if token]
    options = [token for token in dict.fromkeys(tokens) if token in _FO_OPTIONS]
    return (":".join(options) or None), bool(tokens) and len(options) == len(set(tokens))
