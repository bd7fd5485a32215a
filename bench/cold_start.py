"""Cold-start import time of every Lambda handler, each in a fresh interpreter.

Prints, per function: median and min import time over N runs, the number of modules loaded, and
whether a web framework was imported (the authorizer must not import one). Figures are wall-clock on
this machine: compare functions with each other in one run, not across machines.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = int(os.environ.get("BENCH_RUNS", "7"))

PROBE = """
import json, sys, time
start = time.perf_counter()
import importlib
importlib.import_module(sys.argv[1])
elapsed = time.perf_counter() - start
web = sorted(m for m in ("fastapi", "starlette", "mangum", "uvicorn") if m in sys.modules)
print(json.dumps({"seconds": elapsed, "modules": len(sys.modules), "web": web}))
"""


def measure(module: str) -> list[dict[str, object]]:
    env = {
        **os.environ,
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "PYTHONDONTWRITEBYTECODE": "0",
    }
    results = []
    for _ in range(RUNS):
        out = subprocess.run(
            [sys.executable, "-c", PROBE, module],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        results.append(json.loads(out))
    return results


def main() -> None:
    functions = sorted(p.parent.name for p in (ROOT / "functions").glob("*/handler.py"))
    sys.stdout.write(f"{'function':<16} {'median ms':>10} {'min ms':>8} {'modules':>8}  web framework\n")
    for name in functions:
        runs = measure(f"functions.{name}.handler")
        times = [float(r["seconds"]) * 1000 for r in runs]  # type: ignore[arg-type]
        web = ", ".join(runs[0]["web"]) or "none"  # type: ignore[arg-type]
        median, fastest, modules = statistics.median(times), min(times), runs[0]["modules"]
        sys.stdout.write(f"{name:<16} {median:>10.0f} {fastest:>8.0f} {modules:>8}  {web}\n")


if __name__ == "__main__":
    main()
