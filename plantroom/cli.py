"""The ``plantroom`` command (DESIGN §10)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from core.logs import configure_logging


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="plantroom", description=__doc__)
    parser.add_argument("--log-level", default="INFO")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="everything in one process with simulators")
    demo.add_argument("--port", type=int, default=8080, help="API port (default 8080)")
    demo.add_argument("--duration", type=float, default=None, help="stop after SECONDS")
    _data_dir_option(demo)
    demo.add_argument("--site", type=Path, default=Path("examples/site.yaml"))

    run = sub.add_parser(
        "run", help="the components of $PLANTROOM_COMPONENTS (default: all) in one process"
    )
    run.add_argument(
        "--components",
        default=None,
        help="comma-separated, of collect,alerts,api (default: $PLANTROOM_COMPONENTS, else all)",
    )
    _api_options(run)
    _alert_options(run)
    _data_dir_option(run)

    alerts = sub.add_parser("alerts", help="run the alert engine (site and stores from env)")
    _alert_options(alerts)
    _data_dir_option(alerts)

    check = sub.add_parser("check", help="validate a site file")
    check.add_argument("site", type=Path)

    keys = sub.add_parser("keys", help="API keys (stored hashed; a new key is shown once)")
    _data_dir_option(keys)
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser("create", help="create a key and print it once")
    create.add_argument("--role", required=True, choices=["viewer", "engineer", "admin"])
    create.add_argument("--name", default="", help="who or what uses it (default: the role)")
    keys_sub.add_parser("list", help="list keys (never the keys themselves)")
    revoke = keys_sub.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id")

    verify = sub.add_parser("verify-log", help="check the logbook's hash chain (exit 1: broken)")
    _data_dir_option(verify)

    migrate = sub.add_parser(
        "migrate", help="upgrade the records DB ($PLANTROOM_DB_URL) to this release's schema"
    )
    _data_dir_option(migrate)

    collect = sub.add_parser("collect", help="run the collectors (environment: PLANTROOM_*)")
    _data_dir_option(collect)

    api = sub.add_parser("api", help="serve the HTTP API (environment: PLANTROOM_*)")
    _api_options(api)
    _data_dir_option(api)

    simulate = sub.add_parser("simulate", help="simulate every machine of a site")
    simulate.add_argument("--site", type=Path, default=None, help="default: $PLANTROOM_SITE")
    simulate.add_argument("--scenario", help="library name or scenario file; stops at its end")
    simulate.add_argument("--speed", type=float, default=1.0, help="simulated seconds per second")
    simulate.add_argument("--seed", type=int, default=1)
    simulate.add_argument("--tick", type=float, default=1.0, help="real seconds between steps")
    simulate.add_argument("--duration", type=float, default=None, help="stop after SECONDS")
    simulate.add_argument("--list-scenarios", action="store_true", help="list the library")

    inject = sub.add_parser("inject", help="inject or clear a fault in a running simulation")
    inject.add_argument("equipment")
    inject.add_argument("fault")
    inject.add_argument("--site", type=Path, default=None, help="default: $PLANTROOM_SITE")
    inject.add_argument("--clear", action="store_true", help="clear the fault instead")
    inject.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    inject.add_argument("--timeout", type=float, default=10.0)
    return parser


def _data_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="SQLite stores and buffer, unless PLANTROOM_*_URL say otherwise "
        "(default: $PLANTROOM_DATA_DIR, else data; the same for every command)",
    )


def _api_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="API address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="API port (default 8080)")


def _alert_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--interval", type=float, default=0.25, help="seconds between steps")
    parser.add_argument("--duration", type=float, default=None, help="stop after SECONDS")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging(args.log_level)
    if args.command == "check":
        from plantroom.check import check

        code, text = check(args.site)
        print(text)
        return code
    if args.command == "migrate":
        code, text = _migrate(args)
        print(text, file=sys.stdout if code == 0 else sys.stderr)
        return code
    if args.command in ("keys", "verify-log"):
        code, text = _admin(args)
        print(text, file=sys.stdout if code == 0 else sys.stderr)
        return code
    if args.command == "demo":
        from core.site import SiteError
        from plantroom.listen import StartupError
        from plantroom.processes import demo
        from storage import StoreError

        if args.duration is not None and args.duration <= 0:
            print("--duration must be positive", file=sys.stderr)
            return 2
        try:
            asyncio.run(demo(args.data_dir, args.port, args.duration, args.site))
        except (StartupError, SiteError, StoreError, ValueError, OSError) as err:
            return _failed("demo", err)
        return 0
    if args.command in ("run", "collect", "alerts", "api"):
        return _run_service(args)
    if args.command in ("simulate", "inject"):
        return _simulate(args)
    return 2


def _failed(command: str, err: BaseException) -> int:
    """A start-up failure: one clear line on stderr (a site file: one line per error), exit 1."""
    from core.site import SiteError

    if isinstance(err, SiteError):
        lines = [f"{err.source}: {len(err.errors)} error(s)", *err.errors]
        print("\n".join(lines), file=sys.stderr)
    else:
        print(f"plantroom {command}: {err}", file=sys.stderr)
    return 1


def _admin(args: argparse.Namespace) -> tuple[int, str]:
    """``keys`` and ``verify-log`` on the records DB (PLANTROOM_DB_URL, else the data dir's)."""
    from plantroom import admin
    from plantroom.settings import Settings
    from storage import RecordsDB, StoreError

    url = Settings.from_env(args.data_dir).db_url
    if args.command == "verify-log":
        # a logbook that is not there is not an intact one: never create one to verify
        missing = admin.missing_logbook(url)
        if missing is not None:
            return 2, missing
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    try:
        db = RecordsDB(url)
    except StoreError as err:
        return 2, str(err)
    try:
        if args.command == "verify-log":
            return admin.verify_log(db)
        if args.keys_command == "create":
            return admin.keys_create(db, args.role, args.name or args.role)
        if args.keys_command == "list":
            settings = Settings.from_env(args.data_dir)
            return admin.keys_list(db, admin.site_zone(settings.site_path))
        return admin.keys_revoke(db, args.key_id)
    finally:
        db.close()


def _migrate(args: argparse.Namespace) -> tuple[int, str]:
    from plantroom.settings import Settings
    from storage import StoreError
    from storage.records import migrate

    url = Settings.from_env(args.data_dir).db_url
    try:
        before, after = migrate(url)
    except StoreError as err:
        return 1, f"plantroom migrate: {err}"
    if before is None:
        return 0, f"records database created at schema revision {after}"
    if before == after:
        return 0, f"records database already at schema revision {after}"
    return 0, f"records database upgraded from schema revision {before} to {after}"


def _run_service(args: argparse.Namespace) -> int:
    """``run`` and its one-component forms ``collect``, ``alerts`` and ``api``."""
    from core.site import SiteError
    from plantroom.listen import StartupError
    from plantroom.processes import parse_components, run
    from plantroom.settings import Settings
    from storage import StoreError

    # the options this command has (collect has none); run() defaults the rest
    options = {k: v for k, v in vars(args).items() if k in ("host", "port", "interval", "duration")}
    try:
        settings = Settings.from_env(args.data_dir)
        if args.command == "run":
            components = parse_components(args.components or settings.components)
        else:
            components = [args.command]
        interval, duration = options.get("interval"), options.get("duration")
        if (interval is not None and interval <= 0) or (duration is not None and duration <= 0):
            raise ValueError("--interval and --duration must be positive")
        asyncio.run(run(settings, components, **options))
    except (SiteError, StoreError, StartupError, ValueError, OSError) as err:
        return _failed(args.command, err)
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from core.site import SiteError
    from plantroom.listen import StartupError
    from plantroom.settings import Settings
    from plantroom.simulate import inject, scenario_list, simulate
    from simulators.scenario import ScenarioError

    site = args.site or Settings.from_env().site_path
    if args.command == "inject":
        try:
            code, text = inject(
                site, args.equipment, args.fault, args.clear, args.param, args.timeout
            )
        except SiteError as err:
            code, text = 2, str(err)
        print(text, file=sys.stderr if code else sys.stdout)
        return code
    if args.list_scenarios:
        print(scenario_list())
        return 0
    if args.speed <= 0 or args.tick <= 0 or (args.duration is not None and args.duration <= 0):
        print("--speed, --tick and --duration must be positive", file=sys.stderr)
        return 2
    try:
        asyncio.run(simulate(site, args.scenario, args.speed, args.seed, args.tick, args.duration))
    except (SiteError, ScenarioError) as err:
        print(err, file=sys.stderr)
        return 2
    except (StartupError, ValueError, OSError) as err:
        return _failed("simulate", err)
    return 0


if __name__ == "__main__":
    sys.exit(main())
