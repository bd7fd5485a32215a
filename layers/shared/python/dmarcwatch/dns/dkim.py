"""DKIM keys at known selectors (RFC 6376 §3.6.2: TXT at `<selector>._domainkey.<domain>`).

Selectors cannot be listed from the DNS, so a scan asks a maintained list of common ones
(`data/dkim_selectors.json`, which also names the vendor behind vendor-specific selectors) plus up to
`MAX_EXTRA_SELECTORS` others, all at once; a rescan may leave the common list out (`dns.plan` says when).
"Not found" therefore means "not at any selector we asked", and the result says which ones were asked. The
extra selectors are taken in the order the caller gives: anyone can send a report, so the caller ranks them
(selectors already found in the DNS first, then the most recently reported) and a flood of invented
selectors cannot push the real ones out.

Key size: the `p=` tag is a base64 DER SubjectPublicKeyInfo for RSA (RFC 6376 §3.6.1) and the raw
32-octet key for Ed25519 (RFC 8463). RSA keys are loaded with `cryptography` when it is installed, which
also rejects malformed keys; it is imported with this module, so its import time never passes while
queries wait. Without it the modulus is read from the DER structure directly: the same bit length, but
the rest of the key is not validated.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import importlib.util
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

# Re-exported: the rule lives in a bottom-layer module so the store applies the same one.
from dmarcwatch.dkim_selector import normalize_selector as normalize_selector
from dmarcwatch.dns.records import parse_tags
from dmarcwatch.dns.resolver import DnsResult, DnsSession
from dmarcwatch.dns.result import DkimSelector, DkimStatus
from dmarcwatch.dns.txt import too_long

# Not a runtime dependency: without it the DER reader below gives the same size. Imported at the first
# RSA key, not here (~8 ms of the scanner's cold start).
HAVE_CRYPTOGRAPHY = importlib.util.find_spec("cryptography") is not None

# Selectors from reports are data from the internet: cap them so they cannot spend the scan's budget.
MAX_EXTRA_SELECTORS = 50
_RSA_OID = bytes.fromhex("06092a864886f70d010101")  # 1.2.840.113549.1.1.1 rsaEncryption, DER-encoded
_ED25519_KEY_OCTETS = 32


@cache
def selector_table() -> dict[str, str | None]:
    """selector -> vendor (None for generic selectors), in the data file's order."""
    text = resources.files("dmarcwatch.data").joinpath("dkim_selectors.json").read_text(encoding="utf-8")
    return {entry["selector"].lower(): entry["vendor"] for entry in json.loads(text)["selectors"]}


def selectors_to_check(
    extra: Iterable[str] = (), max_extra: int = MAX_EXTRA_SELECTORS, *, common: bool = True
) -> list[str]:
    """The common selectors (unless `common` is false), then the first `max_extra` (at most
    MAX_EXTRA_SELECTORS) valid extra ones in the order given (the caller's priority); no duplicates."""
    max_extra = min(max_extra, MAX_EXTRA_SELECTORS)
    names = list(selector_table()) if common else []
    seen = set(names)
    added = 0
    for raw in extra:
        name = normalize_selector(raw)
        if name is None or name in seen:
            continue
        if added >= max_extra:
            break
        seen.add(name)
        names.append(name)
        added += 1
    return names


# --- keys ------------------------------------------------------------------------------------------------


def _der_element(data: bytes, position: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the DER element at `position`; ValueError if truncated."""
    if position + 2 > len(data):
        raise ValueError("truncated DER")
    tag, length = data[position], data[position + 1]
    position += 2
    if length & 0x80:
        octets = length & 0x7F
        if not 0 < octets <= 4 or position + octets > len(data):
            raise ValueError("bad DER length")
        length = int.from_bytes(data[position : position + octets], "big")
        position += octets
    end = position + length
    if end > len(data):
        raise ValueError("truncated DER")
    return tag, position, end


def rsa_bits_from_der(der: bytes) -> int | None:
    """Modulus size of an RSA SubjectPublicKeyInfo (or bare PKCS#1 RSAPublicKey) read from its DER
    structure: SEQUENCE { SEQUENCE { rsaEncryption, NULL }, BIT STRING { SEQUENCE { INTEGER n, ... } } }."""
    try:
        tag, start, _end = _der_element(der, 0)
        if tag != 0x30:
            return None
        tag, inner, inner_end = _der_element(der, start)
        if tag == 0x30:  # AlgorithmIdentifier: SubjectPublicKeyInfo
            if not der[inner:inner_end].startswith(_RSA_OID):
                return None
            tag, bits_start, _ = _der_element(der, inner_end)
            if tag != 0x03 or der[bits_start] != 0:  # BIT STRING with no unused bits
                return None
            tag, key_start, _ = _der_element(der, bits_start + 1)
            if tag != 0x30:
                return None
            tag, inner, inner_end = _der_element(der, key_start)
        if tag != 0x02:  # INTEGER modulus
            return None
        return int.from_bytes(der[inner:inner_end], "big").bit_length() or None
    except (ValueError, IndexError):
        return None


def _rsa_bits(der: bytes) -> int | None:
    if not HAVE_CRYPTOGRAPHY:
        return rsa_bits_from_der(der)
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    try:
        key = load_der_public_key(der)
    except (ValueError, UnsupportedAlgorithm):
        return None
    return key.key_size if isinstance(key, RSAPublicKey) else None


def key_bits(key_type: str, p: str) -> int | None:
    """Bits of the public key in `p=` (base64, whitespace already removed); None if it is not a decodable
    key of `key_type`."""
    try:
        der = base64.b64decode(p, validate=True)
    except (binascii.Error, ValueError):
        return None
    if key_type == "rsa":
        return _rsa_bits(der)
    if key_type == "ed25519":
        return 256 if len(der) == _ED25519_KEY_OCTETS else None
    return None


def parse_dkim_record(selector: str, record: str) -> DkimSelector | None:
    """The key published by one TXT record, or None when the record is not a DKIM key record (a `v=` other
    than DKIM1, or no `p=` tag) or is too long to be one (`dns.txt.MAX_RECORD_LENGTH`)."""
    if too_long(record) is not None:
        return None
    tags = parse_tags(record)
    if "v" in tags and tags["v"] != "DKIM1":
        return None
    if "p" not in tags:
        return None
    key_type = tags.get("k", "").lower() or "rsa"
    p = re.sub(r"\s+", "", tags["p"])
    flags = {flag.strip().lower() for flag in tags.get("t", "").split(":")}
    return DkimSelector(
        selector=selector,
        record=record,
        key_type=key_type,
        key_bits=key_bits(key_type, p) if p else None,
        testing="y" in flags,
        revoked=not p,
        vendor=selector_table().get(selector),
    )


# --- lookup ----------------------------------------------------------------------------------------------


@dataclass
class DkimScan:
    found: list[DkimSelector] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    # (selector, failed lookup): the selector's presence is unknown.
    failures: list[tuple[str, DnsResult]] = field(default_factory=list)

    @property
    def status(self) -> DkimStatus:
        if any(not key.revoked for key in self.found):
            return DkimStatus.FOUND
        if self.found:
            return DkimStatus.REVOKED
        return DkimStatus.ERROR if self.failures else DkimStatus.NOT_FOUND


# Asking `_domainkey.<domain>` first pays when many selectors are to be asked: NXDOMAIN there means no
# selector exists below it (RFC 8020), so one query stands for all of them.
PROBE_FROM = 10


async def check_dkim(
    session: DnsSession,
    domain: str,
    extra_selectors: Iterable[str] = (),
    *,
    max_extra: int = MAX_EXTRA_SELECTORS,
    common: bool = True,
    probe: bool = False,
) -> DkimScan:
    """Ask every selector at once (the common ones unless `common` is false, then the extra ones); keys are
    listed in the order selectors were asked. With `probe`, a list of `PROBE_FROM` or more selectors waits
    for `_domainkey.<domain>`: when that name does not exist, neither does any selector, and none is asked
    (they count as checked: the DNS said they are absent)."""
    selectors = selectors_to_check(extra_selectors, max_extra, common=common)
    if probe and len(selectors) >= PROBE_FROM:
        parent = await session.query(f"_domainkey.{domain}", "TXT")
        if parent.nothing_below:
            return DkimScan(checked=selectors)
    results = await asyncio.gather(
        *(session.query(f"{selector}._domainkey.{domain}", "TXT") for selector in selectors)
    )
    scan = DkimScan(checked=selectors)
    for selector, result in zip(selectors, results, strict=True):
        if result.failed:
            scan.failures.append((selector, result))
            continue
        keys = (parse_dkim_record(selector, text) for text in sorted(result.txt()))
        key = next((key for key in keys if key is not None), None)
        if key is not None:
            scan.found.append(key)
    return scan
