"""Prefixed, opaque identifiers (`acct_…`, `key_…`, `dom_…`)."""

from __future__ import annotations

import hashlib
import secrets
import string
from enum import StrEnum

_ALPHABET = string.ascii_letters + string.digits


class IdPrefix(StrEnum):
    ACCOUNT = "acct"
    KEY = "key"
    DOMAIN = "dom"
    REPORT = "rpt"
    FOLDER = "fld"
    EXPORT = "exp"
    WEBHOOK = "whk"
    ALERT = "alr"
    CHANGE = "chg"
    EVENT = "evt"
    QUARANTINE = "qtn"
    UPLOAD = "upl"


def random_base62(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_id(prefix: IdPrefix) -> str:
    return f"{prefix.value}_{random_base62(20)}"


def has_prefix(value: str, prefix: IdPrefix) -> bool:
    rest = value.removeprefix(f"{prefix.value}_")
    return rest != value and len(rest) == 20 and rest.isalnum() and rest.isascii()


def derived_id(prefix: IdPrefix, *parts: str) -> str:
    """A stable id for something identified by its content (a report, a quarantine entry).

    Deriving it makes every write idempotent: a retried Lambda or a re-delivered mail computes the same
    id and finds its earlier work instead of creating a duplicate.
    """
    digest = int.from_bytes(hashlib.sha256("\x1f".join(parts).encode()).digest(), "big")
    chars = []
    for _ in range(20):
        digest, rem = divmod(digest, 62)
        chars.append(_ALPHABET[rem])
    return f"{prefix.value}_{''.join(chars)}"
