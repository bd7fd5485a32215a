"""The offline geo lookup is a bottom-layer module that both the DNS scan and source enrichment use."""

from __future__ import annotations

import ast
from pathlib import Path

from dmarcwatch import geo
from dmarcwatch.enrich.ipinfo import offline_info

PACKAGE = Path(geo.__file__).resolve().parent


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth of its code (function-level imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_lookup_reads_country_and_network() -> None:
    google = geo.lookup("8.8.8.8")
    assert (google.country, google.org, google.network) == ("US", "GOOGLE", "8.8.8.0/24")
    # Reserved ranges have no country: "--" in the database is "not known", never a value.
    documentation = geo.lookup("192.0.2.1")
    assert documentation.country is None


def test_enrichment_reads_the_same_database() -> None:
    info = offline_info("8.8.8.8")
    assert (info.country, info.org, info.network) == ("US", "GOOGLE", "8.8.8.0/24")


def test_geo_imports_nothing_above_it() -> None:
    assert {name for name in _imports(PACKAGE / "geo.py") if name.startswith("dmarcwatch")} == set()


def test_the_dns_package_does_not_import_enrichment() -> None:
    """The layering contract: dns sits below enrich, at any depth of the code (no lazy imports either)."""
    upward = {
        f"{path.name}: {name}"
        for path in sorted((PACKAGE / "dns").glob("*.py"))
        for name in _imports(path)
        if name.startswith(("dmarcwatch.enrich", "dmarcwatch.store", "dmarcwatch.scanning"))
    }
    assert upward == set()
