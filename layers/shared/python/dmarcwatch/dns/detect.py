"""Which providers a domain uses, read from its DNS: the email gateway from MX host names, sending
services from the domains its SPF policy includes, other technology from verification tokens in its TXT
records.

The knowledge is data (`data/gateways.json`, `data/sending_services.json`, `data/txt_verifications.json`),
so adding a provider is a one-line edit; the matching here is generic: host-name suffixes on label
boundaries (longest suffix wins) and case-insensitive TXT prefixes.

Fixtures cannot use real provider names (tests talk to a local server only, under the reserved `.test`
TLD), so `Detector.retargeted("test")` swaps the top-level label of every suffix: the fixture zone
`google.test` then stands for `google.com` while the real tables are what is tested. `extended()` adds
entries (a deployment's own providers, say) in front of the packaged ones.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    patterns: tuple[str, ...]


def _suffix_match(host: str, rules: tuple[Rule, ...]) -> tuple[int, str] | None:
    """(suffix length, provider) of the longest suffix `host` equals or ends with on a label boundary."""
    best: tuple[int, str] | None = None
    for rule in rules:
        for suffix in rule.patterns:
            if (host == suffix or host.endswith("." + suffix)) and (best is None or len(suffix) > best[0]):
                best = (len(suffix), rule.name)
    return best


def _normalize_host(host: str) -> str:
    return host.strip().rstrip(".").lower()


def _retarget(suffix: str, tld: str) -> str:
    head, _, _ = suffix.rpartition(".")
    return f"{head}.{tld}" if head else tld


@dataclass(frozen=True, slots=True)
class Detector:
    gateways: tuple[Rule, ...] = ()
    sending_services: tuple[Rule, ...] = ()
    verifications: tuple[Rule, ...] = ()

    @classmethod
    def from_tables(
        cls, gateways: dict[str, Any], sending_services: dict[str, Any], verifications: dict[str, Any]
    ) -> Detector:
        """From the JSON shapes of the data files (`{"gateways": [{"name", "suffixes"}]}` etc.)."""

        def rules(entries: Iterable[dict[str, Any]], key: str) -> tuple[Rule, ...]:
            return tuple(
                Rule(str(entry["name"]), tuple(str(p).lower() for p in entry[key])) for entry in entries
            )

        return cls(
            gateways=rules(gateways.get("gateways", ()), "suffixes"),
            sending_services=rules(sending_services.get("services", ()), "suffixes"),
            verifications=rules(verifications.get("verifications", ()), "prefixes"),
        )

    def retargeted(self, tld: str) -> Detector:
        """The same rules with each host suffix's top-level label replaced by `tld` (for fixtures)."""

        def swap(rules: tuple[Rule, ...]) -> tuple[Rule, ...]:
            return tuple(Rule(rule.name, tuple(_retarget(s, tld) for s in rule.patterns)) for rule in rules)

        return Detector(swap(self.gateways), swap(self.sending_services), self.verifications)

    def extended(self, other: Detector) -> Detector:
        """`other`'s rules first: on equal suffix length (or the same TXT prefix) they win."""
        return Detector(
            other.gateways + self.gateways,
            other.sending_services + self.sending_services,
            other.verifications + self.verifications,
        )

    def email_gateway(self, mx_hosts: Iterable[str]) -> str | None:
        """The provider of the most preferred MX host that matches; `mx_hosts` in preference order."""
        for host in mx_hosts:
            found = _suffix_match(_normalize_host(host), self.gateways)
            if found is not None:
                return found[1]
        return None

    def sending_services_of(self, spf_domains: Iterable[str]) -> list[str]:
        """Providers behind the include/redirect targets of an SPF tree, sorted, without duplicates."""
        names = {
            found[1]
            for domain in spf_domains
            if (found := _suffix_match(_normalize_host(domain), self.sending_services)) is not None
        }
        return sorted(names)

    def tech_in_txt(self, txt_records: Iterable[str]) -> list[str]:
        """Services whose verification token is among the TXT records, sorted, without duplicates."""
        names: set[str] = set()
        for text in txt_records:
            lowered = text.strip().lower()
            for rule in self.verifications:
                if any(lowered.startswith(prefix) for prefix in rule.patterns):
                    names.add(rule.name)
                    break
        return sorted(names)


def _table(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        resources.files("dmarcwatch.data").joinpath(name).read_text(encoding="utf-8")
    )
    return data


@cache
def default_detector() -> Detector:
    """The packaged tables, read once per process."""
    return Detector.from_tables(
        _table("gateways.json"), _table("sending_services.json"), _table("txt_verifications.json")
    )
