"""The CLI's first hour (issue 15): one data directory for every command, ``plantroom run``
on one box with its embedded broker, the broker's address printed, and every start-up
failure one clear line with a non-zero exit."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from core.endpoints import MqttEndpoint
from tests.mqtt_helpers import publish_all, publisher
from tests.servers.ports import free_port, wait_listening
from tests.test_processes import ROOT, create_key, plantroom, run_cli

TANK_TOPIC = "plantroom/lakeside/b2/water_tank/tank-fire/telemetry"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The README's defaults, with only the data directory moved out of the checkout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLANTROOM_")}
    return {
        **env,
        "PLANTROOM_DATA_DIR": str(tmp_path / "data"),
        "PLANTROOM_SITE": str(ROOT / "examples" / "site.yaml"),
        **extra,
    }


def _printed(process: subprocess.Popen[str], pattern: str, timeout: float = 60) -> re.Match[str]:
    """Read the process's stdout until a line matches ``pattern``."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    for line in process.stdout:
        seen.append(line)
        found = re.search(pattern, line)
        if found:
            return found
        assert time.monotonic() < deadline, f"never printed {pattern!r}: {seen}"
    assert process.stderr is not None
    raise AssertionError(f"exited without {pattern!r}: {seen} {process.stderr.read()[-2000:]}")


def _get(url: str, key: str) -> dict[str, object]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        body: dict[str, object] = json.loads(response.read())
        return body


def test_run_on_one_box_embeds_its_broker_prints_it_and_accepts_the_keys_of_keys_create(
    tmp_path: Path,
) -> None:
    env = _env(tmp_path)  # PLANTROOM_MQTT_URL unset: embedded, as the README says
    key = create_key(env)  # written where `run` reads: the one data directory
    port = free_port()
    with plantroom(["run", "--port", str(port)], env) as process:
        broker = int(_printed(process, r"MQTT broker:\s+mqtt://127\.0\.0\.1:(\d+) \(embedded\)")[1])
        wait_listening(port, timeout=30)
        base = f"http://127.0.0.1:{port}/api/v1"
        ts = int(datetime.now(UTC).timestamp() * 1000)
        payload = json.dumps({"ts": ts, "values": {"level_m": 2.5}}).encode()
        deadline = time.monotonic() + 30
        with publisher(MqttEndpoint.parse(f"mqtt://127.0.0.1:{broker}")) as client:
            # a device connects to the printed address; the collector may still be subscribing
            while not _get(f"{base}/equipment/tank-fire", key)["signals"]:
                assert time.monotonic() < deadline, (
                    "nothing published to the printed broker arrived"
                )
                publish_all(client, [(TANK_TOPIC, payload)])
                time.sleep(0.2)
        assert process.poll() is None
    assert (tmp_path / "data" / "records.db").exists()
    assert (tmp_path / "data" / "ts.db").exists()


def test_simulate_prints_the_address_of_its_embedded_broker(tmp_path: Path) -> None:
    site = _site_on_free_ports(tmp_path)
    with plantroom(["simulate", "--site", str(site), "--duration", "30"], _env(tmp_path)) as sim:
        broker = int(_printed(sim, r"MQTT broker:\s+mqtt://127\.0\.0\.1:(\d+) \(embedded\)")[1])
        seen: list[bytes] = []
        endpoint = MqttEndpoint.parse(f"mqtt://127.0.0.1:{broker}")
        with publisher(endpoint, client_id="test-listener") as client:
            client.on_message = lambda _c, _u, message: seen.append(message.payload)
            client.subscribe("plantroom/lakeside/#", qos=1)
            deadline = time.monotonic() + 30
            while not seen:  # the simulated machines publish there every second
                assert time.monotonic() < deadline, "nothing heard on the printed broker"
                time.sleep(0.1)


@contextmanager
def _busy(port: int) -> Iterator[None]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        yield


def _site_on_free_ports(tmp_path: Path) -> Path:
    from tests.test_board_browser import _site_on_free_ports as moved

    return moved(tmp_path)


def test_a_busy_port_is_one_clear_line_and_a_non_zero_exit(tmp_path: Path) -> None:
    port = free_port()
    site = _site_on_free_ports(tmp_path)
    env = _env(tmp_path, PLANTROOM_SITE=str(site))
    gateway = int(re.findall(r"port: (\d+)", site.read_text("utf-8"))[0])
    cases = [
        (["run", "--port", str(port)], port, f"cannot listen on 127.0.0.1:{port} for the API"),
        (["api", "--port", str(port)], port, f"cannot listen on 127.0.0.1:{port} for the API"),
        (["demo", "--port", str(port), "--site", str(site)], port, "for the API"),
        (
            ["collect"],
            port,
            f"cannot listen on 127.0.0.1:{port} for the embedded MQTT broker",
        ),
        (
            ["simulate", "--site", str(site)],
            gateway,
            f"cannot listen on 127.0.0.1:{gateway} for the simulated Modbus gateway",
        ),
    ]
    for args, taken, message in cases:
        extra = (
            {"PLANTROOM_MQTT_URL": f"embedded://127.0.0.1:{port}"} if args == ["collect"] else {}
        )
        with _busy(taken):
            result = run_cli(args, {**env, **extra})
        assert result.returncode == 1, (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], (args, result.stderr)
        assert "Traceback" not in result.stderr and result.stdout == "", (args, result.stdout)


def test_every_command_reads_one_data_directory(tmp_path: Path) -> None:
    env = _env(tmp_path)
    key = create_key(env, role="admin")
    listed = run_cli(["keys", "list"], env)
    assert listed.returncode == 0 and "admin" in listed.stdout, listed.stderr
    # times as the site's people read them: in the site's zone, and saying so
    assert listed.stdout.startswith("times in Asia/Shanghai")
    created = re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", listed.stdout)
    assert created is not None
    shanghai = ZoneInfo("Asia/Shanghai")
    when = datetime.strptime(created[0], "%Y-%m-%d %H:%M:%S").replace(tzinfo=shanghai)
    assert abs((datetime.now(UTC) - when).total_seconds()) < 300
    assert run_cli(["verify-log"], env).returncode == 0
    port = free_port()
    with plantroom(["api", "--port", str(port)], env):
        wait_listening(port, timeout=30)
        assert _get(f"http://127.0.0.1:{port}/api/v1/keys", key)
    # without the variable, the default is the same for every command: data/ in the cwd
    for command in ("demo", "run", "collect", "alerts", "api", "keys", "verify-log"):
        usage = run_cli([command, "--help"], env)
        assert "default: $PLANTROOM_DATA_DIR, else data" in " ".join(usage.stdout.split())
