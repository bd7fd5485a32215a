"""The local stand-in for SES inbound: SMTP on 127.0.0.1 that stores each mail in the raw bucket.

Like the SES receipt rule, it accepts only recipients at the reports domain and writes the raw mail
under `inbound/raw/`; the bucket's notification then enqueues the same S3 event SES's write would. The
envelope recipients are kept as object metadata (SES keeps them in the mail's headers instead).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from dmarcwatch.config import get_settings
from dmarcwatch.store import blobs

MAX_MESSAGE_BYTES = 40 * 1024 * 1024


class _InboundHandler:
    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        domain = get_settings().reports_domain.lower()
        if address.rsplit("@", 1)[-1].lower() != domain:
            return f"550 5.1.1 only mail for @{domain} is accepted here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        key = f"inbound/raw/{datetime.now(UTC):%Y/%m/%d}/{uuid.uuid4().hex}"
        metadata = {
            "recipients": ",".join(a.lower() for a in envelope.rcpt_tos),
            "mail-from": envelope.mail_from or "",
        }
        await asyncio.to_thread(blobs.put_raw, key, content, metadata)
        return "250 2.0.0 queued as " + key.rsplit("/", 1)[-1]


class SmtpInbound:
    name = "SMTP inbound"

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        kwargs: dict[str, Any] = {"data_size_limit": MAX_MESSAGE_BYTES}
        self._controller = Controller(_InboundHandler(), hostname=host, port=port, server_kwargs=kwargs)

    def start(self) -> str:
        self._controller.start()
        return f"smtp://{self.host}:{self.port}"

    def stop(self) -> None:
        self._controller.stop()
