"""API key format: `dmw_<env>_` + 32 random base62 characters + a 6-character checksum.

The checksum (CRC32 of the random part, base62) lets secret scanners and the authorizer reject a
malformed or mistyped key without a database read. Only the SHA-256 of the whole key is stored.
"""

from __future__ import annotations

import hashlib
import re
import zlib

from dmarcwatch.ids import random_base62
from dmarcwatch.models import Environment

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_RANDOM_LEN = 32
_CHECKSUM_LEN = 6
PREFIX_LEN = 12
_KEY_RE = re.compile(r"^dmw_(live|test)_([0-9A-Za-z]{32})([0-9A-Za-z]{6})$")


def _checksum(random_part: str) -> str:
    value = zlib.crc32(random_part.encode("ascii"))
    chars = []
    for _ in range(_CHECKSUM_LEN):
        value, rem = divmod(value, 62)
        chars.append(_BASE62[rem])
    return "".join(reversed(chars))


def generate_key(environment: Environment) -> str:
    random_part = random_base62(_RANDOM_LEN)
    return f"dmw_{environment.value}_{random_part}{_checksum(random_part)}"


def parse_key(key: str) -> Environment | None:
    """The key's environment if it is well formed with a valid checksum, else None."""
    match = _KEY_RE.match(key)
    if match is None or _checksum(match.group(2)) != match.group(3):
        return None
    return Environment(match.group(1))


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def key_prefix(key: str) -> str:
    return key[:PREFIX_LEN]
