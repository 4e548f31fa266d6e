"""Running ``plantroom alerts`` as a real process in tests, and reading what it recorded."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from storage import RecordsDB

ROOT = Path(__file__).resolve().parents[2]


def wait_for(what: str, check: Callable[[], Any], timeout: float = 30.0) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def start_engine(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """``plantroom alerts`` polling every 0.1 s, its output in ``log_path``."""
    log = open(log_path, "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [sys.executable, "-m", "plantroom.cli", "alerts", "--interval", "0.1"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def select_rows(records: RecordsDB, table: sa.Table, *where: Any) -> list[dict[str, Any]]:
    with records.engine.connect() as conn:
        query = sa.select(table).where(*where).order_by(*table.primary_key.columns)
        return [dict(r) for r in conn.execute(query).mappings()]


def stop_processes(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM each process still running; SIGKILL what has not stopped after 10 s."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
