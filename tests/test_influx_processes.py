"""``plantroom api`` on the InfluxDB backend, as docker compose runs it.

The API process reads a real InfluxDB (Debian's 1.6, loaded with our own line protocol) through
``PLANTROOM_TSDB_URL``, the compose file's health check passes against it, and a store it
cannot reach stops the process at start-up with a clear message that shows no secret.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import yaml

from core.readings import Quality, Reading
from core.site import load_site
from storage import site_tags
from storage.influx_ts import line_protocol
from tests.servers.influxdb import InfluxDB1
from tests.servers.ports import free_port, wait_listening
from tests.test_processes import create_key, env_for, plantroom, run_cli

ROOT = Path(__file__).resolve().parent.parent


def test_api_serves_latest_values_from_influxdb(influxdb1: InfluxDB1, tmp_path: Path) -> None:
    site = load_site(ROOT / "examples" / "site.yaml")
    ts = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    influxdb1.create_database("api")
    influxdb1.write_lines(
        "api",
        line_protocol(
            [
                Reading("pump-domestic-1", "outlet_pressure_mpa", ts, 0.42),
                Reading("pump-domestic-1", "running", ts, 1.0),
                Reading("pump-domestic-1", "current_a", ts, None, Quality.STALE, "无新数据"),
            ],
            site_tags(site),
        ),
    )
    port = free_port()
    env = env_for(tmp_path, "mqtt://127.0.0.1:1", PLANTROOM_TSDB_URL=influxdb1.url("api"))
    key = create_key(env)
    with plantroom(["api", "--host", "127.0.0.1", "--port", str(port)], env) as api:
        wait_listening(port, timeout=30)
        url = f"http://127.0.0.1:{port}/api/v1/equipment/pump-domestic-1"
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = json.loads(response.read())
        signals = body["signals"]
        assert signals["outlet_pressure_mpa"]["value"] == 0.42
        assert signals["running"]["value"] is True
        assert signals["current_a"]["quality"] == "stale"
        assert signals["current_a"]["reason"] == "无新数据"
        # the health check docker compose runs in the plantroom-api container
        compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text("utf-8"))
        check = compose["services"]["plantroom-api"]["healthcheck"]["test"]
        assert check[:3] == ["CMD", "python", "-c"]
        code = check[3].replace("127.0.0.1:8080", f"127.0.0.1:{port}")
        subprocess.run([sys.executable, "-c", code], check=True, timeout=30)
        assert api.poll() is None


def test_unreachable_influxdb_stops_the_api_with_a_clear_message(tmp_path: Path) -> None:
    token = "tok-s3cret-value"
    env = env_for(
        tmp_path,
        "mqtt://127.0.0.1:1",
        PLANTROOM_TSDB_URL=f"influxdb://{token}@127.0.0.1:{free_port()}?org=o&bucket=b",
    )
    result = run_cli(["api", "--port", str(free_port())], env, timeout=60)
    assert result.returncode == 1, result.stderr
    assert "is unreachable" in result.stderr
    assert token not in result.stderr + result.stdout
