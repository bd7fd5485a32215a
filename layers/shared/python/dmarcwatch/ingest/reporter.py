"""Who sent a report, as far as the receiving mail server could verify (review M1).

Anyone who reads a tenant's DMARC record can mail its rua address, and the report's `org_name` and
`email` are the sender's own words. SES checks the mail's DKIM signatures: its receipt notification
carries the verdict and SES prepends an `Authentication-Results: amazonses.com; ...` header naming the
signing domains. A report is *authenticated* when SES's DKIM verdict passed for a signing domain that is
the reporter's contact domain (or its parent or child). The local SMTP stand-in and uploads verify
nothing, so their reports carry no verdict (None), which the API shows as such.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.parser import BytesHeaderParser

from dmarcwatch.ingest.messages import Envelope, Verdict

_SES_AUTHSERV = "amazonses.com"
# `dkim=pass header.i=@example.com` or `header.d=example.com`: bounded, no nested quantifiers.
_DKIM_PASS = re.compile(r"\bdkim=pass\b[^;]{0,200}?\bheader\.[id]=@?([A-Za-z0-9.-]{1,253})", re.IGNORECASE)


@dataclass(frozen=True)
class ReporterCheck:
    dkim_domain: str | None
    authenticated: bool | None


def _ses_dkim_domains(raw: bytes) -> list[str]:
    """Signing domains that passed, from the topmost Authentication-Results (the one SES added)."""
    headers = BytesHeaderParser().parsebytes(raw[:65536])
    first = headers.get("authentication-results")
    if first is None or not str(first).strip().lower().startswith(_SES_AUTHSERV):
        return []
    return [d.lower().rstrip(".") for d in _DKIM_PASS.findall(str(first))]


def _related(a: str, b: str) -> bool:
    return a == b or a.endswith("." + b) or b.endswith("." + a)


def verified_signers(envelope: Envelope, raw: bytes) -> list[str] | None:
    """The DKIM signing domains SES verified for this mail (read once per mail); None when the path that
    delivered it verifies nothing (the local stand-in, uploads)."""
    if envelope.receiver != "ses":
        return None
    return _ses_dkim_domains(raw) if envelope.dkim == Verdict.PASS else []


def check(signers: list[str] | None, org_email: str | None, org_name: str) -> ReporterCheck:
    """Whether a report's claimed reporter is among the mail's verified signers."""
    if signers is None:
        return ReporterCheck(dkim_domain=None, authenticated=None)
    claimed = (org_email or "").rpartition("@")[2].lower().rstrip(".") or org_name.lower().strip()
    aligned = [d for d in signers if claimed and _related(d, claimed)]
    return ReporterCheck(
        dkim_domain=next(iter(aligned or signers), None),
        authenticated=bool(aligned),
    )
