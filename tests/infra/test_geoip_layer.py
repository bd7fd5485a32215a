"""Context `geoipDir`: the operator's MaxMind files become a layer of the functions that look addresses up,
whose settings name them under /opt (docs/geo.md); without it no function gets either."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from infra.constructs.functions import GEOIP_FUNCTIONS, geoip_environment
from tests.infra.test_stack import _functions_by_name

pytestmark = [pytest.mark.infra, pytest.mark.xdist_group("infra")]


def test_the_files_are_named_under_opt(tmp_path: Path) -> None:
    (tmp_path / "GeoLite2-ASN.mmdb").write_bytes(b"x")
    (tmp_path / "GeoLite2-City.mmdb").write_bytes(b"x")
    assert geoip_environment(tmp_path) == {
        "DMARCWATCH_GEOIP_ASN_FILE": "/opt/GeoLite2-ASN.mmdb",
        "DMARCWATCH_GEOIP_CITY_FILE": "/opt/GeoLite2-City.mmdb",
    }
    (tmp_path / "GeoLite2-City.mmdb").unlink()
    assert geoip_environment(tmp_path) == {"DMARCWATCH_GEOIP_ASN_FILE": "/opt/GeoLite2-ASN.mmdb"}


@pytest.mark.parametrize("names", [[], ["notes.txt"], ["a-ASN.mmdb", "b-ASN.mmdb"]])
def test_a_directory_without_exactly_the_files_is_refused(tmp_path: Path, names: list[str]) -> None:
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    with pytest.raises(ValueError, match="geoipDir"):
        geoip_environment(tmp_path)


def test_without_the_context_no_function_gets_the_layer_or_settings(synth: Any) -> None:
    for name, (_, props) in _functions_by_name(synth).items():
        assert len(props["Layers"]) == 2, name
        assert not {"DMARCWATCH_GEOIP_ASN_FILE", "DMARCWATCH_GEOIP_CITY_FILE"} & set(
            props["Environment"]["Variables"]
        ), name


def test_with_the_context_the_lookup_functions_get_both(tmp_path: Path, tmp_path_factory: Any) -> None:
    from aws_cdk.assertions import Template

    from infra.app import build_app
    from tests.infra.conftest import CONTEXT, Synth

    geoip = tmp_path / "geoip"
    geoip.mkdir()
    (geoip / "GeoLite2-ASN.mmdb").write_bytes(b"x")
    deps = tmp_path_factory.mktemp("deps")
    (deps / "python").mkdir()
    (deps / "python" / "placeholder.py").write_text("")
    app, stack = build_app(
        {**CONTEXT, "geoipDir": str(geoip)},
        nag=False,
        outdir=str(tmp_path_factory.mktemp("cdk.out")),
        deps_layer_dir=deps,
    )
    resources = Template.from_stack(stack).to_json()["Resources"]
    synth = Synth(app=app, stack=stack, template=None, resources=resources, context=CONTEXT)
    functions = _functions_by_name(synth)
    for name, (_, props) in functions.items():
        variables = props["Environment"]["Variables"]
        if name in GEOIP_FUNCTIONS:
            assert len(props["Layers"]) == 3, name
            assert variables["DMARCWATCH_GEOIP_ASN_FILE"] == "/opt/GeoLite2-ASN.mmdb", name
        else:
            assert len(props["Layers"]) == 2, name
            assert "DMARCWATCH_GEOIP_ASN_FILE" not in variables, name
    assert set(functions) >= GEOIP_FUNCTIONS
