"""Build the third-party dependency layer: build/layers/deps/python/ for Lambda Python 3.12 on arm64.

The dependency list is `[project.dependencies]` of pyproject.toml, the one source of truth. pip installs
binary wheels for the Lambda target (manylinux, aarch64, CPython 3.12), whatever machine runs it. A stamp
next to the layer records what was built; when the list and the target are unchanged the build is
skipped (`--force` rebuilds).

boto3/botocore/s3transfer are included on purpose: the copy in the Lambda runtime is whatever AWS ships
that month, so shipping our own pins the version we test against (pyproject: boto3>=1.35) and keeps the
local stack and Lambda on the same client behaviour. The cost is ~30 MB of the ~50 MB unzipped layer, far
below Lambda's 250 MB limit.

Usage: python infra/build_deps_layer.py [--force]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = REPO_ROOT / "pyproject.toml"
LAYER_DIR = REPO_ROOT / "build" / "layers" / "deps"
# Outside the layer folder, so it is not shipped to Lambda.
STAMP = REPO_ROOT / "build" / "layers" / "deps.stamp.json"

PYTHON_VERSION = "3.12"
# Lambda python3.12 runs on Amazon Linux 2023 (glibc 2.34): manylinux2014 (glibc 2.17) wheels, and
# manylinux_2_28 ones for packages that no longer publish 2014 wheels.
PLATFORMS = ("manylinux2014_aarch64", "manylinux_2_28_aarch64")


def dependencies(pyproject: Path = PYPROJECT) -> list[str]:
    with pyproject.open("rb") as f:
        deps = tomllib.load(f)["project"]["dependencies"]
    if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
        raise SystemExit(f"{pyproject}: [project.dependencies] must be a list of strings")
    return deps


def build_spec(deps: list[str]) -> dict[str, Any]:
    """Everything that determines the layer's content; the stamp stores it."""
    return {
        "dependencies": deps,
        "python_version": PYTHON_VERSION,
        "platforms": list(PLATFORMS),
        "implementation": "cp",
    }


def is_up_to_date(spec: dict[str, Any]) -> bool:
    if not STAMP.is_file() or not (LAYER_DIR / "python").is_dir():
        return False
    try:
        return bool(json.loads(STAMP.read_text()) == spec)
    except json.JSONDecodeError:
        return False


# Runtime dependencies that PyPI ships only as a source distribution. They are pure Python, so a wheel
# built here is the same wheel on Lambda; it is built first and offered to the cross-platform install
# (which otherwise accepts binary wheels only, to never compile for this machine by mistake).
PURE_PYTHON_SDISTS = ("geoip2fast",)


def build_pure_wheels(deps: list[str], wheelhouse: Path) -> None:
    wanted = [d for d in deps if any(d.lower().startswith(name) for name in PURE_PYTHON_SDISTS)]
    if wanted:
        command = [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--wheel-dir",
            str(wheelhouse),
            *wanted,
        ]
        subprocess.run(command, check=True)  # noqa: S603 - fixed argv, no shell
        for wheel in wheelhouse.glob("*.whl"):
            if not wheel.name.endswith("-py3-none-any.whl") and "-py2.py3-none-any" not in wheel.name:
                raise SystemExit(f"{wheel.name} is not a pure-Python wheel; it cannot go in the Lambda layer")


def pip_install(deps: list[str], target: Path, wheelhouse: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",  # bytecode of this machine's Python would be useless on Lambda's 3.12
        *(arg for platform in PLATFORMS for arg in ("--platform", platform)),
        "--only-binary=:all:",
        "--find-links",
        str(wheelhouse),
        "--implementation",
        "cp",
        "--python-version",
        PYTHON_VERSION,
        "--target",
        str(target),
        *deps,
    ]
    subprocess.run(command, check=True)  # noqa: S603 - fixed argv, no shell


def build(force: bool = False) -> bool:
    """Build the layer unless up to date; True when it was (re)built."""
    spec = build_spec(dependencies())
    if not force and is_up_to_date(spec):
        print(f"dependency layer up to date: {LAYER_DIR.relative_to(REPO_ROOT)}")
        return False

    LAYER_DIR.parent.mkdir(parents=True, exist_ok=True)
    # Build next to the final place and swap at the end, so a failed build never leaves a half layer.
    with tempfile.TemporaryDirectory(dir=LAYER_DIR.parent, prefix=".deps-") as tmp:
        staging = Path(tmp) / "deps"
        wheelhouse = Path(tmp) / "wheels"
        build_pure_wheels(spec["dependencies"], wheelhouse)
        pip_install(spec["dependencies"], staging / "python", wheelhouse)
        # Not needed at runtime: the console scripts pip writes to python/bin, and any bytecode cache.
        shutil.rmtree(staging / "python" / "bin", ignore_errors=True)
        for cache in list((staging / "python").rglob("__pycache__")):
            shutil.rmtree(cache, ignore_errors=True)
        STAMP.unlink(missing_ok=True)
        if LAYER_DIR.exists():
            shutil.rmtree(LAYER_DIR)
        staging.rename(LAYER_DIR)
    STAMP.write_text(json.dumps(spec, indent=2) + "\n")
    size_mb = sum(p.stat().st_size for p in LAYER_DIR.rglob("*") if p.is_file()) / 1e6
    print(f"built dependency layer: {LAYER_DIR.relative_to(REPO_ROOT)} ({size_mb:.0f} MB unzipped)")
    return True


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="rebuild even when the stamp matches")
    args = parser.parse_args(argv)
    build(force=args.force)


if __name__ == "__main__":
    main()
