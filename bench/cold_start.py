"""Cold start of every Lambda handler beside the boto3 baseline, each run in a fresh interpreter.

"import + init" is importing the handler module, with all it initialises at module level. What the first
invocation initialises lazily is not in it: the "first call" column shows that separately (the Tracer
with the X-Ray SDK, the settings and the table's client; for the API functions, their before-snapshot
hooks, which set up the same and the other AWS clients they use).

Each probe runs in its function's deployed environment: the variables the CDK stack sets
(`function_environment` of infra/constructs/functions.py, with example names) and the ones Lambda sets,
tracing on (LAMBDA_TASK_ROOT makes Powertools trace as in Lambda; X-Ray sends nothing before a segment
closes). When `make layer` has built the dependency layer, a probe runs without this venv's site-packages
and sees only this venv's copies of what that layer ships (the layer holds arm64 builds), so a package
installed only here (httpx, requests, cryptography, ...) is missing as it is in Lambda.

The baseline `import boto3; boto3.client("dynamodb")` runs right before every run of a function, and each
ratio is the median of those pairs' ratios, so a ratio shares its baseline's moment of the machine's noise:
compare ratios, not seconds. BENCH_RUNS rounds (default 5) after one warm-up round that writes bytecode;
medians are printed. Lambda ships no bytecode for the layers (infra/constructs/functions.py
ASSET_EXCLUDES), so there every cold start also compiles what it imports: Lambda's seconds are higher.

"with SnapStart" (the API functions) is a model, not a measurement of Lambda: an environment restored from
the snapshot runs only the after-restore hooks (dmarcwatch.api.lambda_entry), which the probe times after
the import and the before-snapshot hooks; Lambda's own restore of the snapshot's memory is not in it.

Then the unzipped size of each deployed artifact: every function's code, the shared layer (without the
dev-only paths the stack leaves out) and the dependency layer.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from dmarcwatch.api.registry import (  # noqa: E402
    FUNCTION_GROUPS,
    SCHEDULED_FUNCTIONS,
    WORKER_FUNCTIONS,
    Resource,
    ScheduledFunction,
    WorkerFunction,
)
from infra.build_deps_layer import LAYER_DIR  # noqa: E402
from infra.constructs.functions import (  # noqa: E402
    AUTHORIZER_MEMORY_MB,
    DEV_ONLY_PACKAGE_PATHS,
    DeploymentNames,
    function_environment,
)

RUNS = int(os.environ.get("BENCH_RUNS", "5"))
REGION = "us-east-1"
TARGET_AUTHORIZER = 1.15
TARGET_WORKER = 1.4
TARGET_API = 1.6

# Example names standing in for the stack's CDK tokens.
NAMES = DeploymentNames(
    table_name="dmarcwatch-prod-Table",
    stage="prod",
    reports_domain="reports.example.com",
    region=REGION,
    cursor_secret_arn=f"arn:aws:secretsmanager:{REGION}:123456789012:secret:dmarcwatch-cursor-AbCdEf",
    raw_bucket="dmarcwatch-prod-raw",
    queue_urls={
        resource: f"https://sqs.{REGION}.amazonaws.com/123456789012/dmarcwatch-{resource.value}"
        for resource in (Resource.INGEST_QUEUE, Resource.SCAN_QUEUE)
    },
)

PROBE = r"""
import json, sys, time

spec = json.loads(sys.argv[1])
sys.path[1:1] = spec["path"]

result = {}
start = time.perf_counter()
if spec["code_dir"] is None:
    import boto3

    boto3.client("dynamodb")
    result["seconds"] = time.perf_counter() - start
    result["modules"] = len(sys.modules)
else:
    sys.path.insert(0, spec["code_dir"])
    import handler  # noqa: F401

    result["seconds"] = time.perf_counter() - start
    result["modules"] = len(sys.modules)
    start = time.perf_counter()
    if spec["snapstart"]:
        from dmarcwatch.api import snapstart

        snapstart.run_before_snapshot()
        result["first_call"] = time.perf_counter() - start
        start = time.perf_counter()
        snapstart.run_after_restore()
        result["restore"] = time.perf_counter() - start
    else:
        from dmarcwatch.config import get_settings
        from dmarcwatch.observability import tracer
        from dmarcwatch.store import aws

        tracer.get()
        get_settings()
        aws.resource("dynamodb")
        result["first_call"] = time.perf_counter() - start
print(json.dumps(result))
"""


@dataclass(frozen=True)
class Probe:
    name: str
    code_dir: Path | None  # None: the baseline
    environment: dict[str, str]
    target: float | None = None
    snapstart: bool = False


def lambda_environment(name: str, memory_mb: int, code_dir: Path) -> dict[str, str]:
    """What Lambda itself sets in a function's environment (placeholder credentials: nothing is sent)."""
    return {
        "AWS_LAMBDA_FUNCTION_NAME": f"dmarcwatch-prod-{name}",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "LAMBDA_TASK_ROOT": str(code_dir),
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "_HANDLER": "handler.handler",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000",
        "AWS_ACCESS_KEY_ID": "ASIAEXAMPLEEXAMPLE00",
        "AWS_SECRET_ACCESS_KEY": "example-secret-access-key-not-used-anywhere",
        "AWS_SESSION_TOKEN": "example-session-token",
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(ROOT)),
    }


def probes() -> list[Probe]:
    functions = ROOT / "functions"
    found = [Probe("baseline", None, lambda_environment("baseline", 128, functions))]

    def probe(name: str, memory_mb: int, resources: frozenset[Resource], target: float, api: bool) -> Probe:
        code_dir = functions / name
        environment = {
            **lambda_environment(name, memory_mb, code_dir),
            **function_environment(NAMES, resources, api=api),
        }
        return Probe(name, code_dir, environment, target, snapstart=api)

    found.append(probe("authorizer", AUTHORIZER_MEMORY_MB, frozenset(), TARGET_AUTHORIZER, api=False))
    workers: list[WorkerFunction | ScheduledFunction] = [*WORKER_FUNCTIONS, *SCHEDULED_FUNCTIONS]
    for entry in workers:
        found.append(probe(entry.function_dir, entry.memory_mb, entry.resources, TARGET_WORKER, api=False))
    for group in FUNCTION_GROUPS:
        found.append(probe(group.function_dir, group.memory_mb, group.resources, TARGET_API, api=True))
    return found


def _project(entry: str) -> str:
    """The distribution or top-level name a site-packages entry belongs to, normalised."""
    name = entry.split("-")[0] if entry.endswith((".dist-info", ".egg-info")) else entry.split(".")[0]
    return name.lower().replace("-", "_")


def deployed_site(folder: Path) -> Path | None:
    """`folder` filled with links to this venv's copies of what the dependency layer ships (its packages
    and their metadata: dnspython, for one, looks for optional features by their metadata), or None when
    the layer is not built. The layer itself holds Lambda's (arm64, CPython 3.12) builds."""
    layer = LAYER_DIR / "python"
    if not layer.is_dir():
        return None
    shipped = {_project(entry.name) for entry in layer.iterdir()}
    venv = Path(sysconfig.get_paths()["purelib"])
    for entry in venv.iterdir():
        if _project(entry.name) in shipped and not entry.name.endswith(".pth"):
            (folder / entry.name).symlink_to(entry)
    return folder


def run(probe: Probe, site: Path | None) -> dict[str, float]:
    spec = {
        "path": [str(ROOT / "layers" / "shared" / "python"), str(site)] if site else [],
        "code_dir": str(probe.code_dir) if probe.code_dir else None,
        "snapstart": probe.snapstart,
    }
    # -S: no site-packages of this venv; the probe puts the shared package and the deployed ones on its path.
    flags = ["-S"] if site else []
    completed = subprocess.run(
        [sys.executable, *flags, "-P", "-c", PROBE, json.dumps(spec)],
        cwd=ROOT,
        env=probe.environment,
        capture_output=True,
        text=True,
    )
    if completed.returncode != 0:
        raise SystemExit(f"{probe.name}: the probe failed\n{completed.stderr}")
    result: dict[str, float] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def median(results: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in results)


def verdict(ratio: float, target: float) -> str:
    return "ok" if ratio <= target else "NOT MET"


Results = dict[str, list[dict[str, float]]]


def measure(all_probes: list[Probe], site: Path | None) -> Results:
    """Each function's runs, each with the ratio to a baseline run made just before it."""
    for probe in all_probes:  # warm-up: bytecode written, file caches filled; not counted
        run(probe, site)
    baseline_probe, functions = all_probes[0], all_probes[1:]
    results: Results = {p.name: [] for p in all_probes}
    for _ in range(RUNS):
        for probe in functions:
            baseline = run(baseline_probe, site)
            measured = run(probe, site)
            results[baseline_probe.name].append(baseline)
            measured["ratio"] = measured["seconds"] / baseline["seconds"]
            measured["restore_ratio"] = measured.get("restore", 0.0) / baseline["seconds"]
            results[probe.name].append(measured)
    return results


def print_cold_starts(all_probes: list[Probe], results: Results, site: Path | None) -> None:
    out = sys.stdout.write
    if site is not None:
        packages = "the standard library, dmarcwatch and the dependency layer's packages (as deployed)"
    else:
        packages = "everything in this venv (`make layer` first to import only what is deployed)"
    out(
        f"Cold start: import + init of each handler, tracing on, deployed environment; median of {RUNS} "
        "fresh interpreters per function,\neach run paired with a baseline run just before it.\n"
        f"Importable: {packages}.\n"
    )
    base = median(results["baseline"], "seconds")
    base_modules = int(results["baseline"][0]["modules"])
    out(f'\nbaseline: import boto3; boto3.client("dynamodb")  {base:.3f} s  {base_modules} modules\n\n')
    out(f"{'function':<12}  {'import+init s':>13}  {'x baseline':>10}  {'target':>6}  {'modules':>7}  ")
    out(f"{'first call s':>12}  result\n")
    for probe in all_probes[1:]:
        assert probe.target is not None
        runs = results[probe.name]
        seconds, ratio, first = median(runs, "seconds"), median(runs, "ratio"), median(runs, "first_call")
        modules = int(runs[0]["modules"])
        out(f"{probe.name:<12}  {seconds:>13.3f}  {ratio:>10.2f}  {probe.target:>6.2f}  {modules:>7}  ")
        out(f"{first:>12.3f}  {verdict(ratio, probe.target)}\n")
    out("first call: what the first invocation sets up lazily (not part of import+init)\n")


def print_snapstart(all_probes: list[Probe], results: Results) -> None:
    out = sys.stdout.write
    out(
        "\nWith SnapStart (the API functions). A MODEL: a restored environment runs only the after-restore "
        "hooks\n(new random seed, new AWS clients); Lambda's own restore of the snapshot is not measured.\n\n"
    )
    out(f"{'function':<12}  {'without s':>9}  {'x baseline':>10}  {'restore s':>9}  {'x baseline':>10}  ")
    out(f"{'target':>6}  with SnapStart\n")
    for probe in all_probes:
        if not probe.snapstart:
            continue
        assert probe.target is not None
        runs = results[probe.name]
        without, restore = median(runs, "seconds"), median(runs, "restore")
        ratio, restore_ratio = median(runs, "ratio"), median(runs, "restore_ratio")
        out(f"{probe.name:<12}  {without:>9.3f}  {ratio:>10.2f}  {restore:>9.3f}  {restore_ratio:>10.2f}  ")
        out(f"{probe.target:>6.2f}  {verdict(restore_ratio, probe.target)}\n")


def main() -> None:
    all_probes = probes()
    with tempfile.TemporaryDirectory(prefix="deployed-site-") as folder:
        site = deployed_site(Path(folder))
        results = measure(all_probes, site)
    print_cold_starts(all_probes, results, site)
    print_snapstart(all_probes, results)


def shipped_bytes(folder: Path, leave_out: tuple[str, ...] = ()) -> int:
    """Bytes of the files an asset of `folder` holds (no caches, no egg-info, none under `leave_out`)."""
    total = 0
    for path in folder.rglob("*"):
        relative = path.relative_to(folder).as_posix()
        if not path.is_file() or "__pycache__" in path.parts or path.suffix == ".pyc":
            continue
        if any(part.endswith(".egg-info") for part in path.parts):
            continue
        if any(relative == p or relative.startswith(p + "/") for p in leave_out):
            continue
        total += path.stat().st_size
    return total


def artifact_sizes() -> None:
    sys.stdout.write(f"\n{'artifact (unzipped)':<28} {'size':>12}\n")
    for handler in sorted((ROOT / "functions").glob("*/handler.py")):
        size = shipped_bytes(handler.parent)
        sys.stdout.write(f"{'function ' + handler.parent.name:<28} {size / 1024:>9.1f} KB\n")
    shared = shipped_bytes(ROOT / "layers" / "shared", tuple(DEV_ONLY_PACKAGE_PATHS))
    sys.stdout.write(f"{'shared layer':<28} {shared / 1e6:>9.2f} MB\n")
    if LAYER_DIR.is_dir():
        sys.stdout.write(f"{'dependency layer':<28} {shipped_bytes(LAYER_DIR) / 1e6:>9.2f} MB\n")
    else:
        sys.stdout.write(f"{'dependency layer':<28} {'not built (make layer)':>12}\n")


if __name__ == "__main__":
    main()
    artifact_sizes()
