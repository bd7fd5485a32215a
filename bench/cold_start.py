"""Cold-start import time of every Lambda handler, each in a fresh interpreter.

Prints, per function: median and min import time over N runs, the number of modules loaded, and
whether a web framework was imported (the authorizer must not import one). Figures are wall-clock on
this machine: compare functions with each other in one run, not across machines. Then the unzipped size
of each deployed artifact: every function's code, the shared layer (without the dev-only paths the stack
leaves out) and the dependency layer (`make layer`).
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
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    sys.path.insert(0, str(ROOT))
    from infra.build_deps_layer import LAYER_DIR
    from infra.constructs.functions import DEV_ONLY_PACKAGE_PATHS

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
