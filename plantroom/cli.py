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

    alerts = sub.add_parser("alerts", help="run the alert engine (site and stores from env)")
    alerts.add_argument("--duration", type=float, default=None, help="stop after SECONDS")
    alerts.add_argument("--interval", type=float, default=0.25, help="seconds between steps")

    check = sub.add_parser("check", help="validate a site file")
    check.add_argument("site", type=Path)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging(args.log_level)
    if args.command == "check":
        from plantroom.check import check

        code, text = check(args.site)
        print(text)
        return code
    if args.command == "alerts":
        from plantroom.processes import run_alerts
        from plantroom.settings import Settings

        asyncio.run(run_alerts(Settings.from_env(), args.interval, args.duration))
        return 0
    if args.command == "demo":
        from plantroom.processes import demo

        if args.duration is not None and args.duration <= 0:
            print("--duration must be positive", file=sys.stderr)
            return 2
        asyncio.run(demo(args.data_dir, args.port, args.duration, args.site))
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
