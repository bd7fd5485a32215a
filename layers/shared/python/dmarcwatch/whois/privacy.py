"""Whether a registration hides its owner: RDAP redactions (RFC 9537) of registrant fields, or a privacy or
proxy service named as the registrant (`data/privacy_services.json`)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import cache
from importlib import resources

_NOISE = re.compile(r"[^a-z0-9]+")


def _normal(text: str) -> str:
    return _NOISE.sub(" ", text.lower()).strip()


@cache
def _services() -> tuple[tuple[str, tuple[str, ...]], ...]:
    document = json.loads(
        resources.files("dmarcwatch.data").joinpath("privacy_services.json").read_text(encoding="utf-8")
    )
    return tuple(
        (entry["name"], tuple(_normal(pattern) for pattern in entry["patterns"]))
        for entry in document["services"]
    )


def privacy_service(texts: Iterable[str | None]) -> str | None:
    """The name of the privacy service one of `texts` (registrant name, organisation, email) names."""
    normal = [f" {_normal(text)} " for text in texts if text]
    for name, patterns in _services():
        if any(f" {pattern} " in text for pattern in patterns for text in normal):
            return name
    return None


def privacy_reasons(redacted: Iterable[str], registrant_texts: Iterable[str | None]) -> list[str]:
    """Why the registration counts as private: `redacted` when RDAP redacts a registrant field, and the
    privacy service's name; empty when it does not."""
    reasons = []
    if any("registrant" in name.lower() for name in redacted):
        reasons.append("redacted")
    service = privacy_service(registrant_texts)
    if service is not None:
        reasons.append(service)
    return reasons
