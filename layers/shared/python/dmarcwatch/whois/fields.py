"""whoisit's parsed domain answer -> `WhoisRecord` (seed 002's WHOIS fields).

whoisit overlays the registrar's answer on the registry's and flattens entities by role; here the roles
become fields: the registrar (name, IANA id, its abuse contact), the registrant (name, organisation,
country, state), a contact email (registrant, then administrative, then technical), EPP statuses (RFC
8056's spelling turned back into EPP codes), DNSSEC and the port-43 server. RDAP has no single
"updated" date: `last changed` is it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dmarcwatch.whois.privacy import privacy_reasons
from dmarcwatch.whois_record import WhoisRecord

# RFC 8056 §2: the RDAP statuses whose EPP codes are not the words run together.
_EPP_SPECIAL = {"active": "ok", "associated": "linked"}


def epp_status(rdap_status: str) -> str:
    """`client transfer prohibited` -> `clientTransferProhibited`; `active` -> `ok`."""
    words = rdap_status.strip().lower().split()
    joined = " ".join(words)
    if joined in _EPP_SPECIAL:
        return _EPP_SPECIAL[joined]
    return words[0] + "".join(word.capitalize() for word in words[1:]) if words else ""


def _utc(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _first(entities: dict[str, list[dict[str, Any]]], role: str) -> dict[str, Any]:
    found = entities.get(role) or []
    return found[0] if found else {}


def _iana_id(registrar: dict[str, Any]) -> str | None:
    for public_id in registrar.get("public_ids") or []:
        if "iana" in str(public_id.get("type", "")).lower():
            return _text(public_id.get("identifier"))
    return None


def _registrar_abuse(entities: dict[str, list[dict[str, Any]]], registrar: dict[str, Any]) -> dict[str, Any]:
    """The abuse contact nested in the registrar entity (any abuse contact when none is)."""
    abuse = entities.get("abuse") or []
    handle = registrar.get("handle")
    nested = [a for a in abuse if handle and a.get("parent_handle") == handle]
    return (nested or abuse or [{}])[0]


def _contact_email(entities: dict[str, list[dict[str, Any]]]) -> str | None:
    for role in ("registrant", "administrative", "technical"):
        email = _text(_first(entities, role).get("email"))
        if email:
            return email
    return None


def _statuses(parsed: dict[str, Any]) -> list[str]:
    codes = (epp_status(str(status)) for status in parsed.get("status") or [])
    return [code for code in dict.fromkeys(codes) if code]


def record_from_rdap(domain: str, parsed: dict[str, Any], servers: list[str]) -> WhoisRecord:
    """The record of `domain` from whoisit's parsed answer; `servers` are the RDAP URLs that answered."""
    entities: dict[str, list[dict[str, Any]]] = parsed.get("entities") or {}
    registrar = _first(entities, "registrar")
    registrant = _first(entities, "registrant")
    abuse = _registrar_abuse(entities, registrar)
    address = registrant.get("address") or {}
    registrant_name = _text(registrant.get("person"))
    registrant_org = _text(registrant.get("organisation"))
    if registrant_org is None and registrant_name is None:
        registrant_name = _text(registrant.get("name"))
    contact_email = _contact_email(entities)
    reasons = privacy_reasons(
        [str(name) for name in parsed.get("redacted") or []], [registrant_name, registrant_org, contact_email]
    )
    return WhoisRecord(
        domain_name=(_text(parsed.get("name")) or domain).lower(),
        registrar=_text(registrar.get("name")),
        registrar_iana_id=_iana_id(registrar),
        registration_date=_utc(parsed.get("registration_date")),
        expiry_date=_utc(parsed.get("expiration_date")),
        updated_date=_utc(parsed.get("last_changed_date")),
        name_servers=sorted({str(ns).lower().rstrip(".") for ns in parsed.get("nameservers") or [] if ns}),
        registrant_name=registrant_name,
        registrant_org=registrant_org,
        registrant_country=_text(address.get("country")),
        registrant_state=_text(address.get("region")),
        contact_email=contact_email,
        registrar_abuse_email=_text(abuse.get("email")),
        registrar_abuse_phone=_text(abuse.get("tel")),
        privacy_enabled=bool(reasons),
        privacy_reasons=reasons,
        dnssec_status="signed" if parsed.get("dnssec") else "unsigned",
        domain_statuses=_statuses(parsed),
        whois_server=_text(parsed.get("whois_server")),
        rdap_servers=servers,
    )
