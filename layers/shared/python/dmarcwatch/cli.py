"""`dmarcwatch` command line: operator (admin) commands, the local stack, and the API client's commands
(`domains`, `export`: `cli_client`)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from dmarcwatch.cli_client import add_client_commands
from dmarcwatch.errors import ApiError
from dmarcwatch.models import Environment, KeyScope, SubscriptionStatus, iso
from dmarcwatch.plans import PlanName


def _emit(payload: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(payload, indent=2) + "\n")


def _create_account(args: argparse.Namespace) -> int:
    from dmarcwatch.services import admin

    created = admin.create_account(
        args.email,
        PlanName(args.plan),
        args.name,
        args.expires_in_days,
        production_access=args.production_access,
    )
    _emit(
        {
            "account_id": created.account.id,
            "email": created.account.email,
            "plan": created.account.plan.value,
            "production_access": created.account.production_access,
            "gateway_key_id": created.account.gateway_key_id,
            "live_key": created.live_key.secret,
            "test_key": created.test_key.secret,
            "keys_expire_at": iso(created.live_key.key.expires_at),
            "note": "The keys are shown only now; they are stored hashed.",
        }
    )
    return 0


def _create_key(args: argparse.Namespace) -> int:
    from dmarcwatch.services import admin

    issued = admin.create_key(
        args.account, Environment(args.environment), args.name, args.expires_in_days, KeyScope(args.scope)
    )
    _emit(
        {
            "key_id": issued.key.id,
            "environment": issued.key.environment.value,
            "scope": issued.key.scope.value,
            "expires_at": iso(issued.key.expires_at),
            "key": issued.secret,
        }
    )
    return 0


def _set_subscription(args: argparse.Namespace) -> int:
    from dmarcwatch.services import admin

    admin.set_subscription(args.account, SubscriptionStatus(args.status))
    _emit({"account_id": args.account, "subscription_status": args.status})
    return 0


def _production_access(args: argparse.Namespace) -> int:
    from dmarcwatch.services import admin

    admin.set_production_access(args.account, args.granted)
    _emit({"account_id": args.account, "production_access": args.granted})
    return 0


def _set_plan(args: argparse.Namespace) -> int:
    from dmarcwatch.services import admin

    account = admin.set_plan(args.account, PlanName(args.plan))
    _emit({"account_id": account.id, "plan": account.plan.value})
    return 0


def _quarantine_list(args: argparse.Namespace) -> int:
    from dmarcwatch.models import QuarantineEntry
    from dmarcwatch.store import reports as report_store

    entries: list[QuarantineEntry] = []
    after: str | None = None
    while True:
        page, after = report_store.list_quarantine(None, limit=100, after=after)
        entries += page
        if after is None or len(entries) >= args.limit:
            break
    _emit({"unrouted": [e.model_dump(mode="json") for e in entries[: args.limit]]})
    return 0


def _quarantine_reprocess(args: argparse.Namespace) -> int:
    from dmarcwatch.services import admin

    entry, outcome = admin.reprocess_unrouted(args.id)
    _emit(
        {
            "id": entry.id,
            "resolved": entry.resolved,
            "stored": [r.id for r in outcome.stored],
            "duplicates": [r.id for r in outcome.duplicates],
            "quarantined": [
                {"id": q.id, "reason": q.reason, "account_id": q.account_id} for q in outcome.quarantined
            ],
        }
    )
    return 0


def _openapi(args: argparse.Namespace) -> int:
    from dmarcwatch.api.openapi import openapi_document

    sys.stdout.write(json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n")
    return 0


def _local(args: argparse.Namespace) -> int:
    from dmarcwatch.local.stack import run

    return run()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dmarcwatch", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    admin = commands.add_parser("admin", help="operator commands (talk to the deployment's AWS account)")
    admin_commands = admin.add_subparsers(dest="admin_command", required=True)

    create_account = admin_commands.add_parser("create-account", help="create an account and its first keys")
    create_account.add_argument("--email", required=True)
    create_account.add_argument("--plan", choices=[p.value for p in PlanName], default=PlanName.FREE.value)
    create_account.add_argument("--name")
    create_account.add_argument(
        "--expires-in-days", type=int, default=365, help="1 to 365; the first keys have the admin scope"
    )
    create_account.add_argument(
        "--no-production-access",
        dest="production_access",
        action="store_false",
        help="a sandbox account: its live key answers 403 until `admin production-access --grant`",
    )
    create_account.set_defaults(func=_create_account)

    create_key = admin_commands.add_parser("create-key", help="issue another key for an account")
    create_key.add_argument("--account", required=True)
    create_key.add_argument("--environment", choices=[e.value for e in Environment], default="live")
    create_key.add_argument("--name", default="admin-issued key")
    create_key.add_argument("--expires-in-days", type=int, default=365, help="1 to 365 (keys always expire)")
    create_key.add_argument(
        "--scope",
        choices=[s.value for s in KeyScope],
        default=KeyScope.ADMIN.value,
        help="read: GET only; write: no key management; admin: everything (default)",
    )
    create_key.set_defaults(func=_create_key)

    set_plan = admin_commands.add_parser("set-plan", help="move an account to another plan")
    set_plan.add_argument("--account", required=True)
    set_plan.add_argument("--plan", required=True, choices=[p.value for p in PlanName])
    set_plan.set_defaults(func=_set_plan)

    quarantine = admin_commands.add_parser(
        "quarantine", help="inputs no account could be found for (the operator's quarantine)"
    )
    quarantine_commands = quarantine.add_subparsers(dest="quarantine_command", required=True)
    quarantine_list = quarantine_commands.add_parser(
        "list", help="list unrouted quarantine entries, newest first"
    )
    quarantine_list.add_argument("--limit", type=int, default=100)
    quarantine_list.set_defaults(func=_quarantine_list)
    quarantine_reprocess = quarantine_commands.add_parser("reprocess", help="route and ingest an entry again")
    quarantine_reprocess.add_argument("--id", required=True)
    quarantine_reprocess.set_defaults(func=_quarantine_reprocess)

    openapi = commands.add_parser("openapi", help="print the OpenAPI document (docs/openapi.json)")
    openapi.set_defaults(func=_openapi)

    production = admin_commands.add_parser(
        "production-access", help="grant or withdraw an account's production access (its live keys)"
    )
    production.add_argument("--account", required=True)
    granted = production.add_mutually_exclusive_group(required=True)
    granted.add_argument("--grant", dest="granted", action="store_true")
    granted.add_argument("--revoke", dest="granted", action="store_false")
    production.set_defaults(func=_production_access)

    subscription = admin_commands.add_parser(
        "set-subscription",
        help="mark an account's subscription active, past_due or canceled (403 when canceled)",
    )
    subscription.add_argument("--account", required=True)
    subscription.add_argument("--status", required=True, choices=[s.value for s in SubscriptionStatus])
    subscription.set_defaults(func=_set_subscription)

    local = commands.add_parser("local", help="run the whole service locally (what `make dev` runs)")
    local.set_defaults(func=_local)
    add_client_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result: int = args.func(args)
    except ApiError as error:
        sys.stderr.write(f"error: {error.code.value}: {error.message}\n")
        return 1
    return result


if __name__ == "__main__":
    raise SystemExit(main())
