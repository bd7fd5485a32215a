"""Small DMARC aggregate reports and the mails that carry them, for the ingestion tests, and their
delivery as the SMTP stand-in stores them."""

from __future__ import annotations

import gzip
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesHeaderParser

from dmarcwatch.store import blobs


@dataclass(frozen=True)
class Row:
    ip: str
    count: int
    dkim: str = "pass"
    spf: str = "pass"
    disposition: str = "none"


def aggregate_xml(
    domain: str,
    rows: list[Row],
    *,
    report_id: str = "r-1",
    org: str = "google.com",
    begin: int = 1_767_225_600,  # 2026-01-01T00:00:00Z
    end: int = 1_767_311_999,  # 2026-01-01T23:59:59Z
) -> bytes:
    records = "".join(
        f"<record><row><source_ip>{r.ip}</source_ip><count>{r.count}</count><policy_evaluated>"
        f"<disposition>{r.disposition}</disposition><dkim>{r.dkim}</dkim><spf>{r.spf}</spf>"
        f"</policy_evaluated></row><identifiers><header_from>{domain}</header_from></identifiers>"
        f"<auth_results><dkim><domain>{domain}</domain><selector>s1</selector><result>{r.dkim}</result></dkim>"
        f"<spf><domain>{domain}</domain><result>{r.spf}</result></spf></auth_results></record>"
        for r in rows
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><feedback><report_metadata>'
        f"<org_name>{org}</org_name><email>noreply-dmarc-support@{org}</email><report_id>{report_id}</report_id>"
        f"<date_range><begin>{begin}</begin><end>{end}</end></date_range></report_metadata>"
        f"<policy_published><domain>{domain}</domain><adkim>r</adkim><aspf>r</aspf><p>none</p><sp>none</sp>"
        f"<pct>100</pct></policy_published>{records}</feedback>"
    ).encode()


def report_mail(to: str, xml: bytes, *, subject: str = "Report domain: example.com") -> bytes:
    message = EmailMessage()
    message["From"] = "noreply-dmarc-support@google.com"
    message["To"] = to
    message["Subject"] = subject
    message.set_content("This is an aggregate report.")
    message.add_attachment(
        gzip.compress(xml), maintype="application", subtype="gzip", filename="report.xml.gz"
    )
    return message.as_bytes()


def deliver(raw: bytes, recipients: str | None = None) -> str:
    """Store a mail as the SMTP stand-in does, with the envelope recipients (by default the To address,
    as a reporter's SMTP client would send RCPT TO); the raw object's key."""
    if recipients is None:
        recipients = BytesHeaderParser().parsebytes(raw)["To"]
    key = f"inbound/raw/test/{uuid.uuid4().hex}"
    blobs.put_raw(key, raw, {"recipients": recipients})
    return key


def large_aggregate_xml(domain: str, records: int, *, report_id: str = "large-1") -> bytes:
    """A report with `records` records from distinct IPs (tens of MB for 100,000), built in pieces."""
    head = aggregate_xml(domain, [], report_id=report_id).removesuffix(b"</feedback>")
    parts = [head]
    for index in range(records):
        ip = f"10.{(index >> 16) & 255}.{(index >> 8) & 255}.{index & 255}"
        parts.append(
            f"<record><row><source_ip>{ip}</source_ip><count>{index % 7 + 1}</count><policy_evaluated>"
            "<disposition>none</disposition><dkim>pass</dkim><spf>fail</spf></policy_evaluated></row>"
            f"<identifiers><header_from>{domain}</header_from><envelope_from>bounce{index % 50}.{domain}"
            "</envelope_from></identifiers><auth_results><dkim><domain>"
            f"{domain}</domain><selector>s{index % 50}</selector><result>pass</result></dkim><spf><domain>"
            f"bounce{index % 50}.{domain}</domain><scope>mfrom</scope><result>fail</result></spf>"
            "</auth_results></record>\n".encode()
        )
    parts.append(b"</feedback>")
    return b"".join(parts)
