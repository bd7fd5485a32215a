"""What ships to Lambda: the shared layer without the local stack and the CLI, no dev-only packages
(issue 13, packaging). Reads the assets the synth staged, not the source tree."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from infra.build_deps_layer import LAYER_DIR, dependencies
from infra.constructs.functions import DEV_ONLY_DISTRIBUTIONS

if TYPE_CHECKING:
    from tests.infra.conftest import Synth

pytestmark = pytest.mark.infra


def _asset_dir(synth: Synth, content: dict[str, Any]) -> Path:
    asset_hash = str(content["S3Key"]).removesuffix(".zip")
    return Path(synth.app.outdir) / f"asset.{asset_hash}"


def _shared_layer(synth: Synth) -> Path:
    [layer] = [
        r
        for r in synth.of_type("AWS::Lambda::LayerVersion").values()
        if "shared package" in r["Properties"].get("Description", "")
    ]
    return _asset_dir(synth, layer["Properties"]["Content"])


def test_the_shared_layer_carries_the_package_without_the_local_stack_or_the_cli(synth: Synth) -> None:
    package = _shared_layer(synth) / "python" / "dmarcwatch"
    assert (package / "api" / "app.py").is_file()
    assert (package / "ingest" / "pipeline.py").is_file()
    assert not (package / "local").exists()
    assert not (package / "cli.py").exists()
    shipped = {p.relative_to(package).as_posix() for p in package.rglob("*.py")}
    assert not [p for p in shipped if p.startswith("local/")]


def test_function_code_is_the_thin_handlers_only(synth: Synth) -> None:
    for function in synth.of_type("AWS::Lambda::Function").values():
        code = function["Properties"].get("Code", {})
        if "S3Key" not in code or "Layers" not in function["Properties"]:
            continue  # CDK's own helper functions
        files = [p for p in _asset_dir(synth, code).rglob("*") if p.is_file()]
        assert [p.name for p in files] == ["handler.py"], files


def _distribution(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].strip().lower().replace("-", "_")


def test_the_dependency_layer_lists_no_dev_only_package() -> None:
    shipped = {_distribution(r) for r in dependencies()}
    assert not shipped & set(DEV_ONLY_DISTRIBUTIONS)


def test_the_built_dependency_layer_holds_no_dev_only_package() -> None:
    site = LAYER_DIR / "python"
    if not site.is_dir():
        pytest.skip("the dependency layer is not built (make layer; make test builds it first)")
    present = {p.name.lower() for p in site.iterdir()}
    assert not present & set(DEV_ONLY_DISTRIBUTIONS)
