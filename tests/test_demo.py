"""``plantroom demo`` end to end, as a user runs it: a subprocess, its printed URL, its API."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from core.site import Site
from tests.servers.ports import free_port

ROOT = Path(__file__).resolve().parent.parent


def _get(url: str) -> object:
    with urllib.request.urlopen(url, timeout=2) as response:
        return json.loads(response.read())


def test_demo_serves_readings_for_every_simulated_machine_and_stops_cleanly(
    tmp_path: Path, site: Site
) -> None:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "plantroom.cli",
            "demo",
            "--port",
            str(port),
            "--duration",
            "60",
            "--data-dir",
            str(tmp_path / "data"),
            "--site",
            str(ROOT / "examples" / "site.yaml"),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        simulated = {eq.id for eq in site.equipment if eq.kind in ("pump", "water_tank")}
        started = time.monotonic()
        ok: set[str] = set()
        # the spine issue's bound: readings for every simulated machine within 15 s
        while time.monotonic() - started < 15 and ok != simulated:
            try:
                machines = _get(f"http://127.0.0.1:{port}/api/v1/equipment")
            except OSError:
                time.sleep(0.2)
                continue
            assert isinstance(machines, list)
            ok = {m["id"] for m in machines if m["status"] == "ok"} & simulated
            time.sleep(0.2)
        assert ok == simulated, f"machines with readings after 15 s: {sorted(ok)}"
        detail = _get(f"http://127.0.0.1:{port}/api/v1/equipment/tank-domestic")
        assert isinstance(detail, dict) and detail["signals"]["level_m"]["quality"] == "good"
        process.send_signal(signal.SIGINT)  # Ctrl-C stops it cleanly
        out, err = process.communicate(timeout=20)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert f"http://127.0.0.1:{port}/api/v1/equipment" in out
