"""Report parsing throughput and memory, beside the parser of a baseline commit measured in the same run.

1. The whole shared corpus (../shared/corpus/dmarc), several iterations: reports/s, records/s, MB/s.
2. Generated reports of 10,000 and 100,000 records, gzipped in a mail as providers send them: parse time,
   and memory (tracemalloc) split into what the result keeps (the records) and the transient peak above
   it. Streaming shows as a transient peak that stays flat however many records there are.
3. The corpus and the 100,000-record mail parsed by this tree and by a baseline commit's `dmarcwatch.reports`
   (taken from git into a temporary folder and imported as `dmarcwatch_baseline.reports`), run by run in
   turns in one interpreter, best of all runs: the ratio is what to compare, since the machine is shared.
   The baseline is the commit before the parser's fast path for canonical records
   (`reports/aggregate_canonical.py`); `--baseline REV` picks another.
4. The same mails parsed in a fresh interpreter: growth of its peak resident memory (VmHWM / ru_maxrss).

Figures are wall-clock on this machine; compare runs with each other, not across machines.
Usage: .venv/bin/python bench/parse.py [iterations] [--baseline REV]
"""

from __future__ import annotations

import argparse
import gc
import importlib
import io
import json
import subprocess
import sys
import tarfile
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "layers" / "shared" / "python"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(PACKAGE))

from dmarcwatch.reports import AggregateReport, extract_reports  # noqa: E402
from tests.unit.reports import factory  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "dmarc"
BASELINE = "4a028d1"
MB = 1_000_000
# Targets: a 100,000-record report parsed within this many seconds, and the corpus this many times as fast
# as the baseline.
LARGE_SECONDS = 2.5
CORPUS_SPEEDUP = 1.2


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


BASELINE_PACKAGE = "dmarcwatch_baseline"


def baseline_parser(revision: str, into: Path) -> Callable[[bytes], object] | None:
    """`extract_reports` of the baseline: its `dmarcwatch.reports`, taken from git into `into` and imported
    as `dmarcwatch_baseline.reports` (its imports renamed to match), beside this tree's in one interpreter."""
    paths = ["layers/shared/python/dmarcwatch/__init__.py", "layers/shared/python/dmarcwatch/reports"]
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", revision, *paths], capture_output=True
    )
    if archive.returncode:
        print(f"baseline {revision}: {archive.stderr.decode().strip()}")
        return None
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    package = into / BASELINE_PACKAGE
    (into / "layers" / "shared" / "python" / "dmarcwatch").rename(package)
    for module in package.rglob("*.py"):
        source = module.read_text()
        module.write_text(source.replace("dmarcwatch.reports", f"{BASELINE_PACKAGE}.reports"))
    sys.path.insert(0, str(into))
    baseline = importlib.import_module(f"{BASELINE_PACKAGE}.reports")
    parse: Callable[[bytes], object] = baseline.extract_reports
    return parse


def compare(revision: str, iterations: int, records: int) -> None:
    """This tree against the baseline in one interpreter, run by run in turns (the machine's load falls on
    both alike); best of all runs."""
    files = [path.read_bytes() for path in sorted(CORPUS.rglob("*")) if path.is_file()]
    raw, _ = generated_mail(records)
    with tempfile.TemporaryDirectory(prefix="parse-baseline-") as folder:
        baseline = baseline_parser(revision, Path(folder))
        if baseline is None:
            return
        parsers: dict[str, Callable[[bytes], object]] = {"baseline": baseline, "now": extract_reports}
        best = {name: {"corpus": float("inf"), "large": float("inf")} for name in parsers}
        for key, inputs, runs in (("corpus", files, 2 * iterations), ("large", [raw], 3)):
            for _ in range(runs):
                for name, parse in parsers.items():
                    started = time.perf_counter()
                    for data in inputs:
                        parse(data)
                    best[name][key] = min(best[name][key], time.perf_counter() - started)
        sys.path.remove(folder)
    sha = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", revision], capture_output=True, text=True
    ).stdout.strip()
    then, now = best["baseline"], best["now"]
    speedup = then["corpus"] / now["corpus"]
    print(
        f"same run, baseline {sha or revision} vs this tree, in turns in one interpreter: "
        f"corpus best of {2 * iterations} {then['corpus']:.3f} s vs {now['corpus']:.3f} s = {speedup:.2f}x "
        f"the throughput (target >= {CORPUS_SPEEDUP}x: {'met' if speedup >= CORPUS_SPEEDUP else 'NOT met'}); "
        f"{records:,} records best of 3 {then['large']:.2f} s vs {now['large']:.2f} s = "
        f"{then['large'] / now['large']:.2f}x (target <= {LARGE_SECONDS} s: "
        f"{'met' if now['large'] <= LARGE_SECONDS else 'NOT met'})"
    )


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
    paths = [str(ROOT), str(PACKAGE)]
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
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("iterations", type=int, nargs="?", default=5)
    arguments.add_argument("--baseline", default=BASELINE, help="git revision to compare with")
    options = arguments.parse_args()
    print(f"python {sys.version.split()[0]}")
    corpus(options.iterations)
    for records in (10_000, 100_000):
        large(records)
    compare(options.baseline, options.iterations, 100_000)
    for records in (10_000, 100_000):
        max_rss(records)


if __name__ == "__main__":
    main()
