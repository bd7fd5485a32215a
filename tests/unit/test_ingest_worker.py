"""Which S3 events the parser worker acts on."""

from __future__ import annotations

import json

from dmarcwatch.ingest.worker import object_keys


def event(*keys: str) -> str:
    return json.dumps({"Records": [{"eventSource": "aws:s3", "s3": {"object": {"key": k}}} for k in keys]})


def test_keys_are_url_decoded() -> None:
    assert object_keys(event("inbound/raw/2026/01/01/a+b%3Dc")) == ["inbound/raw/2026/01/01/a b=c"]


def test_s3_test_events_and_the_ses_setup_object_are_ignored() -> None:
    assert object_keys(json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent"})) == []
    assert object_keys(event("inbound/raw/AMAZON_SES_SETUP_NOTIFICATION", "inbound/raw/x")) == [
        "inbound/raw/x"
    ]
