"""Prefixed, opaque identifiers (`acct_…`, `key_…`, `dom_…`)."""

from __future__ import annotations

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


def random_base62(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_id(prefix: IdPrefix) -> str:
    return f"{prefix.value}_{random_base62(20)}"


def has_prefix(value: str, prefix: IdPrefix) -> bool:
    rest = value.removeprefix(f"{prefix.value}_")
    return rest != value and len(rest) == 20 and rest.isalnum() and rest.isascii()
