"""The deploy path as a user runs it: the pinned npm CDK CLI synthesizes the app offline."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.infra

ROOT = Path(__file__).resolve().parents[2]


def test_npx_cdk_synth_works_offline(tmp_path: Path) -> None:
    if not (ROOT / "node_modules" / ".bin" / "cdk").exists() or shutil.which("npx") is None:
        pytest.skip("the CDK CLI is not installed: run `make test` (it runs `npm ci`)")
    if not (ROOT / "build" / "layers" / "deps" / "python").is_dir():
        pytest.skip("the dependency layer is not built: run `make layer`")
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    result = subprocess.run(
        ["npx", "cdk", "synth", "--no-notices", "--quiet", "--output", str(tmp_path / "cdk.out")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    templates = list((tmp_path / "cdk.out").glob("*.template.json"))
    assert templates, "no template synthesized"
