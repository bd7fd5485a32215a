"""The scanner's reserved concurrency is a deployment setting (context `scannerConcurrency`)."""

from __future__ import annotations

import pytest

from dmarcwatch.api.registry import Resource
from infra.constructs.functions import SCAN_QUEUE_CONSUMER_CONCURRENCY, reserved_concurrency


def test_the_scanner_reservation_defaults_and_follows_the_context() -> None:
    assert reserved_concurrency(Resource.SCAN_QUEUE) == SCAN_QUEUE_CONSUMER_CONCURRENCY
    assert reserved_concurrency(Resource.SCAN_QUEUE, "4") == 4
    assert reserved_concurrency(Resource.SCAN_QUEUE, 25) == 25
    # Only the scanner's: the ingest queue's worker stays unreserved whatever the context says.
    assert reserved_concurrency(Resource.INGEST_QUEUE, 4) is None


@pytest.mark.parametrize("value", [1, 51, "0"])
def test_a_reservation_outside_what_the_event_source_accepts_is_refused(value: object) -> None:
    with pytest.raises(ValueError, match="scannerConcurrency must be 2-50"):
        reserved_concurrency(Resource.SCAN_QUEUE, value)
