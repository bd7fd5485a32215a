"""`dmarcwatch domains …` and `dmarcwatch export …`: the API from a shell, over `dmarcwatch.client`.

The API and key come from `--api-url`/`--api-key` or `DMARCWATCH_API_URL`/`DMARCWATCH_API_KEY`; the URL
defaults to the local stack (`make dev` prints its key). Rows go to stdout (a table, `--json`, `--csv` or
`--names`), progress and summaries to stderr, so output pipes into the next command:

    dmarcwatch domains list --search shop --names | dmarcwatch domains update --file - --add-tag shop
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any

import httpx

from dmarcwatch.cli_output import OutputFormat, emit_fields, emit_json, emit_rows, note
from dmarcwatch.client import UNSET, ClientError, DmarcwatchClient
from dmarcwatch.config import get_settings
from dmarcwatch.domain_names import MAX_BULK
from dmarcwatch.export_model import ExportDataset, ExportType

DOMAIN_COLUMNS = (
    "domain",
    "status",
    "dmarc_policy_p",
    "spf_status",
    "email_gateway",
    "folder_id",
    "is_favorite",
    "tags",
    "scanned_at",
    "id",
)
EXPORT_COLUMNS = (
    "id",
    "export_type",
    "dataset",
    "status",
    "progress",
    "row_count",
    "file_size",
    "created_at",
)

Command = Callable[[argparse.Namespace, DmarcwatchClient], int]


def default_api_url() -> str:
    """The local stack's API (what `make dev` prints), unless DMARCWATCH_API_URL says otherwise."""
    settings = get_settings()
    return os.environ.get("DMARCWATCH_API_URL") or f"http://{settings.api_host}:{settings.api_port}/v1"


def make_client(args: argparse.Namespace) -> DmarcwatchClient:
    key = args.api_key or os.environ.get("DMARCWATCH_API_KEY")
    if not key:
        raise ClientError("no API key: set DMARCWATCH_API_KEY (or --api-key); `make dev` prints one")
    return DmarcwatchClient(args.api_url or default_api_url(), key)


def _runs(command: Command) -> Callable[[argparse.Namespace], int]:
    """Adapt a command to `cli.main`: the client made and closed, its errors a message and status 1."""

    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        try:
            with make_client(args) as client:
                return command(args, client)
        except ClientError as error:
            note(f"error: {error}")
            for detail in getattr(error, "details", ()):
                note(f"  {detail.field}: {detail.message or detail.issue}")
            return 1
        except httpx.HTTPError as error:
            note(f"error: cannot reach the API: {error}")
            return 1

    return run


def _output(args: argparse.Namespace) -> OutputFormat:
    return OutputFormat(args.output)


def _names(args: argparse.Namespace) -> Iterator[str]:
    """Names (or ids) from the arguments, else `--file` (`-` is stdin), else stdin when piped."""
    if args.names:
        yield from args.names
        return
    if args.file == "-" or (args.file is None and not sys.stdin.isatty()):
        lines: Iterable[str] = sys.stdin
    elif args.file:
        lines = Path(args.file).read_text().splitlines()
    else:
        raise ClientError("give names as arguments, with --file PATH, or on stdin")
    for line in lines:
        name = line.split("#", 1)[0].strip().strip(",")
        if name:
            yield name


# Names per request of `add` and `update` (the API's bulk limit).
CHUNK = MAX_BULK


def _chunks(items: Iterable[str]) -> Iterator[list[str]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, CHUNK)):
        yield chunk


# Domains.


def _domains_list(args: argparse.Namespace, client: DmarcwatchClient) -> int:
    rows = client.iter_domains(
        search=args.search,
        folder_id=args.folder_id,
        tag=args.tag,
        is_favorite=args.favorite,
        status=args.status,
        dmarc_status=args.dmarc_status,
    )
    if args.limit:
        rows = islice(rows, args.limit)
    emit_rows(rows, DOMAIN_COLUMNS, _output(args), name_column="domain")
    return 0


def _domains_get(args: argparse.Namespace, client: DmarcwatchClient) -> int:
    emit_fields(client.get_domain(args.domain), _output(args))
    return 0


def _domains_add(args: argparse.Namespace, client: DmarcwatchClient) -> int:
    totals = dict.fromkeys(("submitted", "added", "existing", "duplicates", "invalid", "scans_queued"), 0)
    added: list[dict[str, Any]] = []
    invalid: list[dict[str, str]] = []
    for chunk in _chunks(_names(args)):
        result = client.add_domains(chunk)
        for name in totals:
            totals[name] += getattr(result, name)
        added += [d.model_dump(mode="json") for d in result.domains]
        invalid += [i.model_dump(mode="json") for i in result.invalid_domains]
        note(f"sent {totals['submitted']}: {totals['added']} added, {totals['existing']} already monitored")
    if _output(args) is OutputFormat.JSON:
        emit_json({**totals, "domains": added, "invalid_domains": invalid})
    else:
        emit_rows(added, DOMAIN_COLUMNS, _output(args), name_column="domain")
    for bad in invalid:
        note(f"invalid: {bad['domain']}: {bad['message']}")
    note(", ".join(f"{name} {count}" for name, count in totals.items()))
    return 1 if invalid else 0


def _changes(args: argparse.Namespace) -> dict[str, Any]:
    tags = UNSET if args.tags is None else [t for t in args.tags.split(",") if t.strip()]
    folder = None if args.no_folder else (args.folder_id or UNSET)
    favorite = UNSET if args.favorite is None else args.favorite
    label = UNSET if args.label is None else (args.label or None)
    return {"folder_id": folder, "is_favorite": favorite, "tags": tags, "custom_label": label}


def _domains_update(args: argparse.Namespace, client: DmarcwatchClient) -> int:
    changes = _changes(args)
    edits_tags = bool(args.add_tag or args.remove_tag)
    if all(v is UNSET for v in changes.values()) and not edits_tags and args.notes is None:
        raise ClientError("nothing to change: give --folder-id, --favorite, --tags, --add-tag, --notes, …")
    names = list(_names(args))
    if len(names) == 1 and not edits_tags:
        notes = UNSET if args.notes is None else (args.notes or None)
        emit_fields(client.update_domain(names[0], notes=notes, **changes), _output(args))
        return 0
    if args.notes is not None:
        raise ClientError("--notes is set one domain at a time")
    edits = {"add_tags": args.add_tag or UNSET, "remove_tags": args.remove_tag or UNSET}
    missing: list[str] = []
    for chunk in _chunks(names):
        result = client.bulk_update(chunk, **changes, **edits)
        missing += result.not_found_ids + result.failed_ids
        note(
            f"{result.submitted} sent: {result.updated} updated, {result.unchanged} unchanged, "
            f"{result.not_found} not found, {result.failed} failed"
        )
    for name in missing:
        sys.stdout.write(f"{name}\n")
    return 1 if missing else 0


def _domains_delete(args: argparse.Namespace, client: DmarcwatchClient) -> int:
    rows = [client.delete_domain(name, purge=args.purge) for name in _names(args)]
    emit_rows(rows, ("domain", "id", "status", "restorable_until"), _output(args), name_column="domain")
    return 0


# Exports.


def _filters(pairs: list[str]) -> dict[str, Any] | None:
    filters: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise ClientError(f"--filter takes name=value, not {pair!r}")
        if name in filters:  # a repeated filter (tag) is a list
            previous = filters[name]
            filters[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            filters[name] = value
    return filters or None


def _export_create(args: argparse.Namespace, client: DmarcwatchClient) -> int:
    export = client.create_export(
        args.type,
        args.dataset,
        folder_id=args.folder_id,
        columns=[c.strip() for c in args.columns.split(",")] if args.columns else None,
        filters=_filters(args.filter),
        since=args.since,
        until=args.until,
    )
    note(f"export {export.id} queued (task {export.task_id})")
    if args.wait or args.download:
        export = client.wait_for_export(
            export.id,
            interval=args.interval,
            timeout=args.timeout,
            on_poll=lambda e: note(f"  {e.status} {e.progress}% ({e.row_count} rows)"),
        )
    if args.download:
        size = client.download_export(export, args.download)
        note(f"wrote {size} bytes to {args.download}")
    emit_fields(export, _output(args))
    return 0


def _export_get(args: argparse.Namespace, client: DmarcwatchClient) -> int:
    emit_fields(client.get_export(args.id), _output(args))
    return 0


def _export_list(args: argparse.Namespace, client: DmarcwatchClient) -> int:
    rows: Iterable[Any] = client.iter_exports()
    if args.limit:
        rows = islice(rows, args.limit)
    emit_rows(rows, EXPORT_COLUMNS, _output(args))
    return 0


def _export_download(args: argparse.Namespace, client: DmarcwatchClient) -> int:
    export = client.get_export(args.id)
    suffix = "zip" if export.export_type == "zip" else ("json" if export.export_type == "json" else "csv")
    target = args.output or f"{export.id}.{suffix}"
    if target == "-":
        size = client.download_export(export, sys.stdout.buffer)
    else:
        size = client.download_export(export, target)
    note(f"wrote {size} bytes to {target}")
    return 0


def _export_delete(args: argparse.Namespace, client: DmarcwatchClient) -> int:
    emit_fields(client.delete_export(args.id), _output(args))
    return 0


# The parsers.


def _common() -> argparse.ArgumentParser:
    """Options every client command takes: where the API is, the key, the output format."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--api-url", help="the API base URL with /v1 (env DMARCWATCH_API_URL; local stack)")
    common.add_argument("--api-key", help="an API key (env DMARCWATCH_API_KEY; the env keeps it out of ps)")
    formats = common.add_mutually_exclusive_group()
    formats.add_argument("--json", dest="output", action="store_const", const="json", help="JSON output")
    formats.add_argument("--csv", dest="output", action="store_const", const="csv", help="CSV output")
    formats.add_argument(
        "--names", dest="output", action="store_const", const="names", help="names only, one a line"
    )
    common.set_defaults(output="table")
    return common


def _names_input(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("names", nargs="*", metavar="DOMAIN", help=f"{what} (ids or names)")
    parser.add_argument("--file", help="read them from a file, one a line (- for stdin; # comments)")


def _favorite(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--favorite", action=argparse.BooleanOptionalAction, default=None)


def _domain_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    domains = commands.add_parser("domains", help="monitored domains over the API (list, add, update, …)")
    sub = domains.add_subparsers(dest="domains_command", required=True)

    listing = sub.add_parser("list", parents=[common], help="list domains, every page (filters AND)")
    listing.add_argument("--folder-id", help="a folder id (fld_…), or none for unfiled domains")
    listing.add_argument("--tag", action="append", help="repeatable: domains carrying every tag given")
    _favorite(listing)
    listing.add_argument("--status", choices=["active", "inactive", "removed"])
    listing.add_argument("--dmarc-status", choices=["reject", "quarantine", "none", "missing"])
    listing.add_argument("--search", help="only names containing this text")
    listing.add_argument("--limit", type=int, help="stop after this many")
    listing.set_defaults(func=_runs(_domains_list))

    get = sub.add_parser("get", parents=[common], help="one domain with its scan, history and 30-day totals")
    get.add_argument("domain", help="its id (dom_…) or name")
    get.set_defaults(func=_runs(_domains_get))

    add = sub.add_parser("add", parents=[common], help=f"add domains, {MAX_BULK} per request")
    _names_input(add, "domains to add")
    add.set_defaults(func=_runs(_domains_add))

    update = sub.add_parser(
        "update", parents=[common], help="set folder, favourite, tags, label (notes: one domain)"
    )
    _names_input(update, "domains to change")
    folder = update.add_mutually_exclusive_group()
    folder.add_argument("--folder-id", help="move into this folder (fld_…)")
    folder.add_argument("--no-folder", action="store_true", help="take out of their folder")
    _favorite(update)
    tags = update.add_mutually_exclusive_group()
    tags.add_argument("--tags", help="replace the tags: comma-separated ('' clears them)")
    tags.add_argument("--add-tag", action="append", help="repeatable")
    update.add_argument("--remove-tag", action="append", help="repeatable")
    update.add_argument("--label", help="the custom label ('' clears it)")
    update.add_argument("--notes", help="the notes ('' clears them); one domain only")
    update.set_defaults(func=_runs(_domains_update))

    delete = sub.add_parser("delete", parents=[common], help="stop monitoring (restorable 30 days)")
    _names_input(delete, "domains to remove")
    delete.add_argument("--purge", action="store_true", help="delete them and their data now")
    delete.set_defaults(func=_runs(_domains_delete))


def _export_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    export = commands.add_parser("export", help="exports over the API (create, get, list, download)")
    sub = export.add_subparsers(dest="export_command", required=True)

    create = sub.add_parser("create", parents=[common], help="queue an export (and wait, and download)")
    create.add_argument("--type", choices=[t.value for t in ExportType], help="default csv")
    create.add_argument("--dataset", choices=[d.value for d in ExportDataset], help="default domains")
    create.add_argument("--columns", help="comma-separated, in file order (default: all)")
    create.add_argument("--folder-id", help="only the domains of this folder")
    create.add_argument("--filter", action="append", default=[], help="name=value, as the list endpoint")
    create.add_argument("--since", type=datetime.fromisoformat, help="ISO 8601 with a zone")
    create.add_argument("--until", type=datetime.fromisoformat, help="ISO 8601 with a zone")
    create.add_argument("--wait", action="store_true", help="poll until completed (honours Retry-After)")
    create.add_argument("--download", metavar="PATH", help="wait, then write the file here")
    create.add_argument("--interval", type=float, default=2.0, help="seconds between polls")
    create.add_argument("--timeout", type=float, default=900.0, help="seconds to wait at most")
    create.set_defaults(func=_runs(_export_create))

    get = sub.add_parser("get", parents=[common], help="one export, with a fresh download link")
    get.add_argument("id")
    get.set_defaults(func=_runs(_export_get))

    listing = sub.add_parser("list", parents=[common], help="exports, newest first")
    listing.add_argument("--limit", type=int, help="stop after this many")
    listing.set_defaults(func=_runs(_export_list))

    download = sub.add_parser("download", parents=[common], help="stream a completed export's file")
    download.add_argument("id")
    download.add_argument("--output", "-o", help="the path (default <id>.<csv|json|zip>; - for stdout)")
    download.set_defaults(func=_runs(_export_download))

    delete = sub.add_parser("delete", parents=[common], help="delete an export and its file")
    delete.add_argument("id")
    delete.set_defaults(func=_runs(_export_delete))


def add_client_commands(commands: Any) -> None:
    """Register `domains` and `export` on the `dmarcwatch` parser's subcommands."""
    common = _common()
    _domain_commands(commands, common)
    _export_commands(commands, common)
