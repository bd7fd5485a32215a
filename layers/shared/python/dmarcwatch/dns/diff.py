"""What changed between two scans of a domain, for alerts and the change history.

Only fields that both scans actually observed are compared: a check that failed in either scan (SERVFAIL,
timeout, budget spent) says nothing about what is published, so a record that could not be read this time
is never reported as removed, and one that could not be read last time is never reported as added. DKIM is
compared per selector, over the selectors both scans asked.

Values are compared and reported in a canonical text form (strings as they are, everything else as
compact JSON with sorted keys, set-like lists sorted), so an unchanged rescan yields no changes whatever
order the DNS returned records in.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from pydantic import BaseModel

from dmarcwatch.dns.result import DkimSelector, MxEntry, ScanResult

# Tracked field -> the checks it depends on; an entry ending in ":" covers every check with that prefix.
TRACKED_FIELDS: dict[str, tuple[str, ...]] = {
    "mx": ("mx",),
    "email_gateway": ("mx",),
    "mx_server_ips": ("mx", "mx_address:"),
    "spf": ("txt",),
    "spf_status": ("txt", "spf"),
    "sending_services": ("txt", "spf"),
    "dmarc": ("dmarc",),
    "dmarc_policy_p": ("dmarc",),
    "dmarc_policy_sp": ("dmarc",),
    "dmarc_pct": ("dmarc",),
    "dmarc_rua": ("dmarc",),
    "dmarc_ruf": ("dmarc",),
    "bimi": ("bimi",),
    "mta_sts": ("mta_sts",),
    "tls_rpt": ("tls_rpt",),
    "ns": ("ns",),
    "a": ("a",),
    "aaaa": ("aaaa",),
    "caa": ("caa",),
    "srv": ("srv:",),
    "tech_in_dns": ("txt",),
}
_DNSSEC_FIELD = "dnssec_ds_present"
_DKIM_PREFIX = "dkim:"


class Change(BaseModel):
    """One difference. `old`/`new` are canonical text (None: absent); for DKIM `field` is
    `dkim:<selector>`."""

    field: str
    old: str | None
    new: str | None


def _jsonable(value: object) -> object:
    """JSON-ready value with set-like lists sorted; MX entries keep their meaningful (priority) order."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        mx = [item for item in value if isinstance(item, MxEntry)]
        if mx and len(mx) == len(value):
            return [item.model_dump(mode="json") for item in sorted(mx, key=lambda e: (e.priority, e.host))]
        return sorted((_jsonable(item) for item in value), key=_dump)
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    return value


def _dump(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical(value: object) -> str | None:
    """The stable text of a field value; None, empty lists and empty maps are all "absent"."""
    if value is None or value == [] or value == {}:
        return None
    if isinstance(value, str):
        return value
    return _dump(_jsonable(value))


def _blocked(failed: set[str], checks: Iterable[str]) -> bool:
    return any(
        check in failed or (check.endswith(":") and any(f.startswith(check) for f in failed))
        for check in checks
    )


def _dkim_key(key: DkimSelector | None) -> str | None:
    if key is None:
        return None
    return canonical(key.model_dump(include={"record", "key_type", "key_bits", "testing", "revoked"}))


def _dkim_changes(old: ScanResult, new: ScanResult, failed: set[str]) -> list[Change]:
    asked_both = set(old.dkim_selectors_checked) & set(new.dkim_selectors_checked)
    old_keys = {key.selector: key for key in old.dkim_selectors_found}
    new_keys = {key.selector: key for key in new.dkim_selectors_found}
    changes = []
    for selector in sorted(asked_both):
        if _DKIM_PREFIX + selector in failed:
            continue
        before, after = _dkim_key(old_keys.get(selector)), _dkim_key(new_keys.get(selector))
        if before != after:
            changes.append(Change(field=_DKIM_PREFIX + selector, old=before, new=after))
    return changes


def diff_results(old: ScanResult, new: ScanResult) -> list[Change]:
    """Changes from `old` to `new` in tracked fields both scans observed, in a fixed order."""
    failed = old.failed_checks() | new.failed_checks()
    changes: list[Change] = []
    for name, checks in TRACKED_FIELDS.items():
        if _blocked(failed, checks):
            continue
        before, after = canonical(getattr(old, name)), canonical(getattr(new, name))
        if before != after:
            changes.append(Change(field=name, old=before, new=after))
    if "dnssec_ds" not in failed:
        before, after = canonical(old.dnssec.ds_present), canonical(new.dnssec.ds_present)
        if before != after:
            changes.append(Change(field=_DNSSEC_FIELD, old=before, new=after))
    changes.extend(_dkim_changes(old, new, failed))
    return changes
