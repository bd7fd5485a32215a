"""Report parsing throughput and memory.

1. The whole shared corpus (../shared/corpus/dmarc), several iterations: reports/s, records/s, MB/s.
2. Generated reports of 10,000 and 100,000 records, gzipped in a mail as providers send them: parse time,
   and memory (tracemalloc) split into what the result keeps (the records) and the transient peak above
   it. Streaming shows as a transient peak that stays flat however many records there are.
3. The same mails parsed in a fresh interpreter: growth of its peak resident memory (VmHWM / ru_maxrss).

Figures are wall-clock on this machine; compare runs with each other, not across machines.
Usage: .venv/bin/python bench/parse.py [iterations]
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "layers" / "shared" / "python"))

from dmarcwatch.reports import AggregateReport, extract_reports  # noqa: E402
from tests.unit.reports import factory  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "dmarc"
MB = 1_000_000


def corpus(iterations: int) -> None:
    files = [path.read_bytes() for path in sorted(CORPUS.rglob("*")) if path.is_file()]
    if not files:
        print(f"corpus: none at {CORPUS}")
        return
    size = sum(len(data) for data in files)
    reports = records = 0
    best = float("inf")
    for _ in range(iterations):
        reports = records = 0
        started = time.perf_counter()
        for data in files:
            for report in extract_reports(data).reports:
                reports += 1
                records += len(report.records) if isinstance(report, AggregateReport) else 0
        best = min(best, time.perf_counter() - started)
    print(
        f"corpus: {len(files)} files, {size / MB:.1f} MB, {reports} reports, {records} records; "
        f"best of {iterations}: {best:.3f} s = {reports / best:,.0f} reports/s, "
        f"{records / best:,.0f} records/s, {size / MB / best:.1f} MB/s"
    )


def generated_mail(records: int) -> tuple[bytes, int]:
    xml = factory.large_report(records)
    return factory.mail(("report.xml.gz", "application/gzip", factory.gz(xml))), len(xml)


def large(records: int) -> None:
    raw, xml_size = generated_mail(records)
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        result = extract_reports(raw)
        best = min(best, time.perf_counter() - started)
        del result
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    result = extract_reports(raw)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    kept = current - before
    print(
        f"{records:>7,} records: XML {xml_size / MB:.1f} MB (mail {len(raw) / MB:.2f} MB); "
        f"parse best of 3 {best:.2f} s = {records / best:,.0f} records/s, "
        f"{xml_size / MB / best:.1f} MB/s of XML; "
        f"tracemalloc: result keeps {kept / MB:.1f} MB ({kept / records:.0f} B/record), "
        f"transient peak above it {(peak - current) / MB:.1f} MB"
    )
    del result


CHILD = """
import json, resource, sys
sys.path[:0] = sys.argv[1:3]


def peak_kb():
    # ru_maxrss survives fork and exec on Linux (it would report the parent's peak); VmHWM does not.
    try:
        status = open("/proc/self/status").read()
        return int(status.split("VmHWM:")[1].split()[0])
    except (OSError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


from dmarcwatch.reports import extract_reports
raw = sys.stdin.buffer.read()
before = peak_kb()
result = extract_reports(raw)
after = peak_kb()
print(json.dumps({"before_kb": before, "after_kb": after, "records": len(result.reports[0].records)}))
"""


def max_rss(records: int) -> None:
    """Peak resident memory (high-water mark) of a fresh interpreter that reads the mail and parses it."""
    raw, xml_size = generated_mail(records)
    paths = [str(ROOT), str(ROOT / "layers" / "shared" / "python")]
    out = subprocess.run(
        [sys.executable, "-c", CHILD, *paths], input=raw, capture_output=True, check=True
    ).stdout
    figures = json.loads(out)
    before, after = figures["before_kb"] / 1000, figures["after_kb"] / 1000
    print(
        f"{records:>7,} records, fresh interpreter given the {len(raw) / MB:.2f} MB mail: peak RSS "
        f"{before:.0f} MB before parsing, {after:.0f} MB after: +{after - before:.0f} MB "
        f"= {(after - before) * MB / records:.0f} B/record (the {xml_size / MB:.0f} MB of XML is never held)"
    )


def main() -> None:
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    print(f"python {sys.version.split()[0]}")
    corpus(iterations)
    for records in (10_000, 100_000):
        large(records)
    for records in (10_000, 100_000):
        max_rss(records)


if __name__ == "__main__":
    main()
