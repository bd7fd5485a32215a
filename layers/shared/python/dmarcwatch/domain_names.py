"""Validation and normalisation of the domain names a tenant monitors (RFC 1035 and IDNA 2008), and their
public suffix (the packaged Public Suffix List)."""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import idna

if TYPE_CHECKING:
    from publicsuffixlist import PublicSuffixList

# Names per POST /domains request (the request model enforces it).
MAX_BULK = 500

_LDH_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


@dataclass(frozen=True)
class DomainName:
    ascii: str
    unicode: str


@dataclass(frozen=True)
class InvalidDomain:
    input: str
    reason: str
    message: str


def _invalid(raw: str, reason: str, message: str) -> InvalidDomain:
    return InvalidDomain(raw, reason, message)


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        return False
    return True


def _check_structure(raw: str, name: str) -> InvalidDomain | None:
    if len(name) > 253:
        return _invalid(raw, "too_long", "a domain name has at most 253 characters")
    labels = name.split(".")
    if len(labels) < 2:
        return _invalid(raw, "single_label", "a domain name needs at least two labels (example.com)")
    for label in labels:
        if not label:
            return _invalid(raw, "empty_label", "empty label (two dots in a row)")
        if len(label) > 63:
            return _invalid(raw, "label_too_long", f"label '{label[:20]}…' is longer than 63 characters")
    return None


def normalize_domain(raw: str) -> DomainName | InvalidDomain:
    """The ASCII (A-label) and Unicode forms of `raw`, or why it is not a domain name we can monitor."""
    value = raw.strip()
    if not value:
        return _invalid(raw, "empty", "domain is empty")
    if "://" in value or "/" in value or "?" in value:
        return _invalid(raw, "url", "a URL was given; send the bare domain name")
    if "@" in value:
        return _invalid(raw, "email_address", "an email address was given; send its domain")
    if _is_ip(value):
        return _invalid(raw, "ip_address", "an IP address is not a domain name")
    if value.endswith("."):
        value = value[:-1]
    if "*" in value:
        return _invalid(raw, "wildcard", "wildcards are not allowed")
    if ":" in value:
        return _invalid(raw, "invalid_characters", "ports and colons are not allowed")
    structural = _check_structure(raw, value)
    if structural is not None:
        return structural
    try:
        ascii_name = idna.encode(value, uts46=True).decode("ascii").lower()
    except idna.IDNAError as error:
        return _invalid(raw, "invalid_idna", f"not a valid (internationalised) domain name: {error}")
    except UnicodeError:
        return _invalid(raw, "invalid_idna", "not a valid (internationalised) domain name")
    # Punycode can lengthen labels, so the structure is checked again on the A-label form.
    structural = _check_structure(raw, ascii_name)
    if structural is not None:
        return structural
    labels = ascii_name.split(".")
    for label in labels:
        if not _LDH_LABEL.match(label):
            return _invalid(
                raw, "invalid_characters", f"label '{label}' may hold only letters, digits and inner hyphens"
            )
    if labels[-1].isdigit():
        return _invalid(raw, "numeric_tld", "the top-level domain cannot be all digits")
    try:
        unicode_name = idna.decode(ascii_name)
    except idna.IDNAError:
        unicode_name = ascii_name
    return DomainName(ascii=ascii_name, unicode=unicode_name)


@functools.cache
def public_suffix_list() -> PublicSuffixList:
    """The packaged list, ICANN and private sections, unknown TLDs treated as public suffixes (the PSL's
    default "*" rule). Loaded once, at first use (~0.2 s), never fetched at run time."""
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


def public_suffix(name: str) -> str | None:
    """The public suffix of an A-label name (`co.uk` for `example.co.uk`), None if it has none."""
    suffix: str | None = public_suffix_list().publicsuffix(name)
    return suffix
