"""One example request per route, and the code samples the OpenAPI document shows for it (`x-codeSamples`).

Each example is defined once here, keyed by (method, path) as `registry.route_specs()` names them; the
curl sample is rendered from it, and so is the Python one unless the route has a typed method in
`dmarcwatch.client` (then `python` is that call). `tests/unit/test_openapi_examples.py` checks that every
route has one, that it validates against the operation's parameters and request schema, and that the
Python sample sends exactly the request the curl sample does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

QueryValue = str | int | bool | list[str]

DOMAIN = "example.com"
KEY_ID = "key_3kTnq8ZxW1pVb2Rm7YcH"
FOLDER_ID = "fld_8bWq2NcLx5TzR1mKp9Ve"
EXPORT_ID = "exp_Q4vX7mB2nK9cT1wZr5Ya"
REPORT_ID = "rpt_N6pJ3sV8dF1gH5kL2qWe"
UPLOAD_ID = "upl_T2bR7yU4iO9pA3sD6fGh"
QUARANTINE_ID = "qtn_M8nB5vC2xZ7lK4jH1gFd"
ACCOUNT_ID = "acct_W3eR6tY9uI2oP5aS8dFg"
UPLOAD_FILE = "report.xml.gz"

PYTHON_SETUP = """import os

from dmarcwatch.client import DmarcwatchClient

client = DmarcwatchClient(os.environ["DMARCWATCH_API_URL"], os.environ["DMARCWATCH_API_KEY"])
"""


@dataclass(frozen=True)
class Example:
    path_params: dict[str, str] = field(default_factory=dict)
    query: dict[str, QueryValue] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    # A file sent as the raw body (curl --data-binary @file), for the upload route.
    upload: str | None = None
    # The typed client call, when there is one; else the sample is client.request(...).
    python: str | None = None

    def path(self, template: str) -> str:
        return template.format(**{k: quote(v, safe="") for k, v in self.path_params.items()})

    def query_pairs(self) -> list[tuple[str, str]]:
        pairs: list[tuple[str, str]] = []
        for name, value in self.query.items():
            for item in value if isinstance(value, list) else [value]:
                pairs.append((name, str(item).lower() if isinstance(item, bool) else str(item)))
        return pairs


def _domain(**kwargs: Any) -> Example:
    return Example(path_params={"domain_id": DOMAIN}, **kwargs)


EXAMPLES: dict[tuple[str, str], Example] = {
    ("GET", "/health"): Example(),
    ("GET", "/"): Example(),
    ("GET", "/account"): Example(),
    ("GET", "/keys"): Example(python="keys = client.list_keys()"),
    ("POST", "/keys"): Example(body={"name": "ci-readonly", "expires_in_days": 90, "scope": "read"}),
    ("DELETE", "/keys/{key_id}"): Example(path_params={"key_id": KEY_ID}),
    ("PATCH", "/keys/{key_id}"): Example(
        path_params={"key_id": KEY_ID}, body={"name": "ci (rotated yearly)"}
    ),
    ("POST", "/keys/{key_id}/rotate"): Example(
        path_params={"key_id": KEY_ID}, body={"grace_seconds": 3600, "expires_in_days": 365}
    ),
    ("GET", "/domains"): Example(
        query={"tag": ["prod"], "is_favorite": True, "folder_id": FOLDER_ID, "limit": 100},
        python='page = client.list_domains(tag=["prod"], is_favorite=True, '
        f'folder_id="{FOLDER_ID}", limit=100)\n'
        '# every page: for domain in client.iter_domains(tag=["prod"]): ...',
    ),
    ("GET", "/organizations/{account_id}/domains"): Example(
        path_params={"account_id": ACCOUNT_ID}, query={"status": "active", "limit": 100}
    ),
    ("POST", "/domains"): Example(
        body={"domains": ["example.com", "example.org", "example.co.uk"]},
        python='added = client.add_domains(["example.com", "example.org", "example.co.uk"])',
    ),
    ("GET", "/domains/{domain_id}"): _domain(python=f'domain = client.get_domain("{DOMAIN}")'),
    ("DELETE", "/domains/{domain_id}"): _domain(python=f'removed = client.delete_domain("{DOMAIN}")'),
    ("PATCH", "/domains/{domain_id}"): _domain(
        body={"folder_id": FOLDER_ID, "is_favorite": True, "tags": ["prod", "eu"], "notes": "Main brand"},
        python=f'domain = client.update_domain(\n    "{DOMAIN}", folder_id="{FOLDER_ID}", is_favorite=True, '
        'tags=["prod", "eu"], notes="Main brand"\n)',
    ),
    ("POST", "/domains/bulk-update"): Example(
        body={"ids": ["example.com", "example.org"], "add_tags": ["prod"], "folder_id": FOLDER_ID},
        python='outcome = client.bulk_update(\n    ["example.com", "example.org"], add_tags=["prod"], '
        f'folder_id="{FOLDER_ID}"\n)',
    ),
    ("POST", "/domains/{domain_id}/activate"): _domain(),
    ("POST", "/domains/{domain_id}/verify"): _domain(),
    ("POST", "/domains/{domain_id}/deactivate"): _domain(),
    ("POST", "/domains/{domain_id}/scan"): _domain(),
    ("POST", "/domains/{domain_id}/refresh_dns"): _domain(),
    ("GET", "/domains/{domain_id}/scan-results"): _domain(),
    ("GET", "/domains/{domain_id}/dns-records"): _domain(),
    ("GET", "/domains/{domain_id}/changes"): _domain(query={"limit": 50}),
    ("GET", "/domains/{domain_id}/whois"): _domain(),
    ("POST", "/domains/{domain_id}/refresh_whois"): _domain(),
    ("GET", "/folders"): Example(python="folders = client.list_folders()"),
    ("POST", "/folders"): Example(
        body={"name": "Production"}, python='folder = client.create_folder("Production")'
    ),
    ("GET", "/folders/{folder_id}"): Example(
        path_params={"folder_id": FOLDER_ID}, python=f'folder = client.get_folder("{FOLDER_ID}")'
    ),
    ("PATCH", "/folders/{folder_id}"): Example(
        path_params={"folder_id": FOLDER_ID},
        body={"name": "Brands"},
        python=f'folder = client.rename_folder("{FOLDER_ID}", "Brands")',
    ),
    ("DELETE", "/folders/{folder_id}"): Example(
        path_params={"folder_id": FOLDER_ID}, python=f'deleted = client.delete_folder("{FOLDER_ID}")'
    ),
    ("GET", "/tags"): Example(python="tags = client.list_tags()"),
    ("GET", "/events"): Example(query={"type": "report.received", "limit": 50}),
    ("GET", "/events/types"): Example(),
    ("GET", "/dashboard/summary"): Example(
        query={"tag": "prod"}, python='summary = client.dashboard_summary(tag="prod")'
    ),
    ("GET", "/reports"): Example(
        query={"domain_id": DOMAIN, "received_after": "2025-01-01T00:00:00Z", "limit": 100},
        python=f'page = client.list_reports(domain_id="{DOMAIN}", received_after="2025-01-01T00:00:00Z", '
        "limit=100)",
    ),
    ("GET", "/reports/{report_id}"): Example(
        path_params={"report_id": REPORT_ID}, python=f'report = client.get_report("{REPORT_ID}")'
    ),
    ("GET", "/reports/{report_id}/raw"): Example(path_params={"report_id": REPORT_ID}),
    ("POST", "/reports"): Example(
        upload=UPLOAD_FILE,
        python=f'with open("{UPLOAD_FILE}", "rb") as file:\n'
        '    upload = client.send("POST", "/reports", content=file.read()).json()["data"]',
    ),
    ("GET", "/uploads/{upload_id}"): Example(path_params={"upload_id": UPLOAD_ID}),
    ("GET", "/domains/{domain_id}/stats"): _domain(
        query={"start_date": "2025-01-01", "end_date": "2025-01-31"}
    ),
    ("GET", "/domains/{domain_id}/sources"): _domain(query={"range": "30d", "limit": 100}),
    ("GET", "/quarantine"): Example(query={"limit": 50}),
    ("POST", "/quarantine/{quarantine_id}/reprocess"): Example(path_params={"quarantine_id": QUARANTINE_ID}),
    ("POST", "/exports"): Example(
        body={"export_type": "csv", "dataset": "domains", "columns": ["domain", "dmarc_policy_p", "tags"]},
        python="export = client.create_export(\n"
        '    "csv", "domains", columns=["domain", "dmarc_policy_p", "tags"]\n)\n'
        '# export = client.wait_for_export(export.id); client.download_export(export, "domains.csv")',
    ),
    ("GET", "/exports"): Example(query={"limit": 25}, python="page = client.list_exports(limit=25)"),
    ("GET", "/exports/{export_id}"): Example(
        path_params={"export_id": EXPORT_ID}, python=f'export = client.get_export("{EXPORT_ID}")'
    ),
    ("DELETE", "/exports/{export_id}"): Example(
        path_params={"export_id": EXPORT_ID}, python=f'deleted = client.delete_export("{EXPORT_ID}")'
    ),
}


def _literal(value: Any) -> str:
    """A Python literal in the samples' style (double quotes)."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in value.items()) + "}"
    return repr(value)


def python_call(method: str, path: str, example: Example) -> str:
    """The sample's client statement(s): the typed call, or client.request(...) with the same request."""
    if example.python:
        return example.python
    args = [_literal(method), _literal(example.path(path))]
    if example.query:
        args.append(f"params={_literal(example.query)}")
    if example.body is not None:
        args.append(f"json={_literal(example.body)}")
    return f"data = client.request({', '.join(args)})"


def _shell_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def curl(method: str, path: str, example: Example) -> str:
    query = urlencode(example.query_pairs())
    url = f"$DMARCWATCH_API_URL{example.path(path)}" + (f"?{query}" if query else "")
    lines = [f'curl -sS{"" if method == "GET" else f" -X {method}"} "{url}"']
    lines.append('-H "Authorization: Bearer $DMARCWATCH_API_KEY"')
    if example.body is not None:
        lines.append('-H "Content-Type: application/json"')
        lines.append(f"-d {_shell_quote(json.dumps(example.body))}")
    if example.upload:
        lines.append(f"--data-binary @{example.upload}")
    return " \\\n  ".join(lines)


def code_samples(method: str, path: str) -> list[dict[str, str]] | None:
    """The operation's `x-codeSamples` (curl, then Python with dmarcwatch.client); None without an example."""
    example = EXAMPLES.get((method, path))
    if example is None:
        return None
    return [
        {"lang": "Shell", "label": "curl", "source": curl(method, path, example)},
        {
            "lang": "Python",
            "label": "dmarcwatch.client",
            "source": PYTHON_SETUP + python_call(method, path, example),
        },
    ]
