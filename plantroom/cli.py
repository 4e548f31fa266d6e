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
    demo.add_argument("--data-dir", type=Path, default=Path("data/demo"))
    demo.add_argument("--site", type=Path, default=Path("examples/site.yaml"))

    check = sub.add_parser("check", help="validate a site file")
    check.add_argument("site", type=Path)

    sub.add_parser("collect", help="run the collectors (environment: PLANTROOM_*)")

    api = sub.add_parser("api", help="serve the HTTP API (environment: PLANTROOM_*)")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8080)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging(args.log_level)
    if args.command == "check":
        from plantroom.check import check

        code, text = check(args.site)
        print(text)
        return code
    if args.command == "demo":
        from plantroom.processes import demo

        if args.duration is not None and args.duration <= 0:
            print("--duration must be positive", file=sys.stderr)
            return 2
        asyncio.run(demo(args.data_dir, args.port, args.duration, args.site))
        return 0
    if args.command in ("collect", "api"):
        return _run_service(args)
    return 2


def _run_service(args: argparse.Namespace) -> int:
    from core.site import SiteError
    from plantroom.processes import collect, serve_api
    from plantroom.settings import Settings
    from storage import StoreError

    settings = Settings.from_env()
    try:
        if args.command == "collect":
            asyncio.run(collect(settings))
        else:
            asyncio.run(serve_api(settings, args.host, args.port))
    except SiteError as err:
        print(
            "\n".join([f"{err.source}: {len(err.errors)} error(s)", *err.errors]), file=sys.stderr
        )
        return 1
    except (StoreError, ValueError) as err:
        print(f"plantroom {args.command}: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
