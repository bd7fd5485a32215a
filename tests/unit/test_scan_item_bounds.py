"""A scan result comes from a zone its tenant controls: what is stored of it is bounded (review H1)."""

from __future__ import annotations

import json

from dmarcwatch.dns.result import ScanResult
from dmarcwatch.store.scans import PREVIOUS_BUDGET, RESULT_BUDGET, bounded_json


def test_a_huge_result_is_cut_to_the_budget_and_still_reads_as_a_result() -> None:
    hostile = {
        "domain": "big.test",
        "scanned_at": "2026-01-01T00:00:00Z",
        "txt": ["x" * 4000] * 400,
        "spf": "v=spf1 " + "a" * 3000,
    }
    stored = bounded_json(json.dumps(hostile), RESULT_BUDGET, keep=("domain", "scanned_at"))
    assert len(stored) <= RESULT_BUDGET
    document = json.loads(stored)
    assert document["truncated"] is True
    assert ScanResult.model_validate(document).domain == "big.test"


def test_a_result_beyond_any_cut_becomes_a_stub_that_still_reads() -> None:
    hostile = {
        "domain": "big.test",
        "scanned_at": "2026-01-01T00:00:00Z",
        **{f"field{i}": "y" * 300 for i in range(2000)},
    }
    stored = bounded_json(json.dumps(hostile), 10_000, keep=("domain", "scanned_at"))
    assert json.loads(stored) == {
        "domain": "big.test",
        "scanned_at": "2026-01-01T00:00:00Z",
        "truncated": True,
    }
    assert ScanResult.model_validate(json.loads(stored)).domain == "big.test"


def test_small_documents_are_untouched_and_previous_values_gain_no_marker() -> None:
    small = json.dumps({"domain": "a.test", "mx": []})
    assert bounded_json(small, RESULT_BUDGET, keep=("domain", "scanned_at")) == small
    previous = {"txt": {"value": ["z" * 5000] * 100, "changed_at": "2026-01-01T00:00:00Z"}}
    stored = json.loads(bounded_json(json.dumps(previous), PREVIOUS_BUDGET))
    assert set(stored) == {"txt"}
