"""What the parser worker reads from its queue: S3 events, SES notifications and the API's requests."""

from __future__ import annotations

import json

from dmarcwatch.ingest.messages import IngestRequest, RawObject, decode


def event(*keys: str) -> str:
    return json.dumps({"Records": [{"eventSource": "aws:s3", "s3": {"object": {"key": k}}} for k in keys]})


def keys(body: str) -> list[str]:
    decoded = decode(body)
    assert isinstance(decoded, list)
    return [raw.key for raw in decoded]


def test_keys_are_url_decoded() -> None:
    assert keys(event("inbound/raw/2026/01/01/a+b%3Dc")) == ["inbound/raw/2026/01/01/a b=c"]


def test_s3_test_events_and_the_ses_setup_object_are_ignored() -> None:
    assert keys(json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent"})) == []
    assert keys(event("inbound/raw/AMAZON_SES_SETUP_NOTIFICATION", "inbound/raw/x")) == ["inbound/raw/x"]


def test_an_s3_event_carries_no_envelope_the_object_metadata_is_read() -> None:
    decoded = decode(event("inbound/raw/x"))
    assert decoded == [RawObject(key="inbound/raw/x")]


def ses_notification(**receipt: object) -> dict[str, object]:
    return {
        "notificationType": "Received",
        "mail": {"messageId": "m1", "destination": ["forged@example.com"]},
        "receipt": {
            "recipients": ["Token@Reports.Example.Net"],
            "spamVerdict": {"status": "PASS"},
            "virusVerdict": {"status": "FAIL"},
            "dkimVerdict": {"status": "PASS"},
            "dmarcVerdict": {"status": "GRAY"},
            "action": {"type": "S3", "bucketName": "raw", "objectKey": "inbound/raw/m1"},
            **receipt,
        },
    }


def test_ses_notifications_give_the_envelope_recipients_and_verdicts() -> None:
    [raw] = decode(json.dumps(ses_notification()))  # type: ignore[misc]
    assert raw.key == "inbound/raw/m1"
    assert raw.envelope is not None
    # The receipt's recipients (the envelope), never mail.destination or headers the sender wrote.
    assert raw.envelope.recipients == ["token@reports.example.net"]
    assert (raw.envelope.spam, raw.envelope.virus, raw.envelope.dkim) == ("PASS", "FAIL", "PASS")
    assert raw.envelope.receiver == "ses"


def test_ses_notifications_inside_an_sns_envelope() -> None:
    body = json.dumps({"Type": "Notification", "Message": json.dumps(ses_notification())})
    assert keys(body) == ["inbound/raw/m1"]


def test_a_notification_without_an_s3_action_has_no_object() -> None:
    assert keys(json.dumps(ses_notification(action={"type": "Lambda"}))) == []


def test_api_requests() -> None:
    request = IngestRequest(job_id="upl_x", account_id="acct_x", environment="live", raw_key="inbound/api/k")
    assert decode(request.model_dump_json()) == request
