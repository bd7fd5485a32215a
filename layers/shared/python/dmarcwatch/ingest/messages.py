"""What reaches the parser worker on the ingest queue, and the envelope of a mail.

Three kinds of message, all decoded here:
- an SES receipt notification (published by the receipt rule's S3 action to SNS, then to the queue): the
  envelope recipients and SES's spam, virus, SPF, DKIM and DMARC verdicts come from SES itself, never from
  headers the sender wrote (review M1);
- an S3 ObjectCreated event (the local SMTP stand-in's writes): the envelope is the object's metadata,
  written only by our own SMTP server;
- an `IngestRequest` the API queued for an upload or a reprocessing run of one tenant;
- a `PurgeDomain` the API queued when a tenant removed a domain.
"""

from __future__ import annotations

import json
from typing import Any, Literal
from urllib.parse import unquote_plus

from pydantic import Field

from dmarcwatch.modeling import Model


class Verdict:
    PASS = "PASS"  # noqa: S105 (SES's verdict word, not a password)
    FAIL = "FAIL"


class Envelope(Model):
    """What the receiving server vouches for (SES or our SMTP stand-in); empty for uploads."""

    recipients: list[str] = Field(default_factory=list)
    spam: str | None = None
    virus: str | None = None
    dkim: str | None = None
    dmarc: str | None = None
    # "ses", "smtp" (local stand-in) or "upload".
    receiver: str = "smtp"

    @classmethod
    def from_metadata(cls, metadata: dict[str, str]) -> Envelope:
        recipients = [a.strip().lower() for a in metadata.get("recipients", "").split(",") if a.strip()]
        return cls(recipients=recipients, receiver="smtp")


class IngestRequest(Model):
    """An upload or a reprocessing run queued by the API: one tenant, one stored input."""

    type: Literal["ingest_request"] = "ingest_request"
    job_id: str
    account_id: str
    environment: str
    raw_key: str
    quarantine_id: str | None = None


class PurgeDomain(Model):
    """Delete what is stored under a domain its tenant removed (queued by the API's DELETE)."""

    type: Literal["purge_domain"] = "purge_domain"
    account_id: str
    environment: str
    domain_id: str


class RawObject(Model):
    """A raw mail in the bucket, with the envelope its receiver recorded (None: the object's metadata)."""

    key: str
    envelope: Envelope | None = None


def _verdict(receipt: dict[str, Any], name: str) -> str | None:
    value = receipt.get(name)
    return str(value.get("status")) if isinstance(value, dict) and value.get("status") else None


def _ses_notification(message: dict[str, Any]) -> list[RawObject]:
    receipt = message.get("receipt") or {}
    action = receipt.get("action") or {}
    object_key = action.get("objectKey")
    if action.get("type") != "S3" or not object_key:
        return []
    envelope = Envelope(
        recipients=[str(r).lower() for r in receipt.get("recipients") or []],
        spam=_verdict(receipt, "spamVerdict"),
        virus=_verdict(receipt, "virusVerdict"),
        dkim=_verdict(receipt, "dkimVerdict"),
        dmarc=_verdict(receipt, "dmarcVerdict"),
        receiver="ses",
    )
    return [RawObject(key=str(object_key), envelope=envelope)]


def _s3_event(message: dict[str, Any]) -> list[RawObject]:
    if message.get("Event") == "s3:TestEvent":
        return []
    keys = [unquote_plus(r["s3"]["object"]["key"]) for r in message.get("Records", []) if "s3" in r]
    # SES writes this object once when the receipt rule is saved, to check it may write to the bucket.
    return [RawObject(key=k) for k in keys if not k.endswith("/AMAZON_SES_SETUP_NOTIFICATION")]


def decode(body: str) -> list[RawObject] | IngestRequest | PurgeDomain:
    """The raw objects (or the API's request) one queue message carries."""
    message: dict[str, Any] = json.loads(body)
    if message.get("type") == "ingest_request":
        return IngestRequest.model_validate(message)
    if message.get("type") == "purge_domain":
        return PurgeDomain.model_validate(message)
    if message.get("Type") == "Notification" and isinstance(message.get("Message"), str):
        message = json.loads(message["Message"])  # SNS envelope (raw message delivery off)
    if message.get("notificationType") == "Received":
        return _ses_notification(message)
    return _s3_event(message)
