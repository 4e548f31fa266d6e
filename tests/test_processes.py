"""``plantroom collect`` and ``plantroom api`` as separate processes, set up by the environment."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from core.endpoints import MqttEndpoint
from tests.mqtt_helpers import publish_all, publisher
from tests.servers.mosquitto import Mosquitto
from tests.servers.ports import free_port, wait_listening

ROOT = Path(__file__).resolve().parent.parent


def env_for(tmp_path: Path, mqtt_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PLANTROOM_MQTT_URL": mqtt_url,
        "PLANTROOM_TSDB_URL": f"sqlite:///{tmp_path / 'ts.db'}",
        "PLANTROOM_DB_URL": f"sqlite:///{tmp_path / 'records.db'}",
        "PLANTROOM_SITE": str(ROOT / "examples" / "site.yaml"),
        **extra,
    }


def create_key(env: dict[str, str], role: str = "viewer") -> str:
    """Make an API key with ``plantroom keys create``, as an administrator would."""
    made = subprocess.run(
        [sys.executable, "-m", "plantroom.cli", "keys", "create", "--role", role],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return next(line for line in made.stdout.splitlines() if line.startswith("pr_"))


def run_cli(
    args: list[str], env: dict[str, str], timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    """``plantroom ARGS`` to completion, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "plantroom.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@contextmanager
def plantroom(args: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "plantroom.cli", *args],
        env=env,
        cwd=ROOT,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.communicate(timeout=20)


def test_collector_and_api_processes_share_the_store(mosquitto: Mosquitto, tmp_path: Path) -> None:
    env = env_for(tmp_path, mosquitto.url, PLANTROOM_MQTT_SHARE_GROUP="plantroom")
    port = free_port()
    key = create_key(env)  # the API process serves reads to viewer keys only
    with plantroom(["collect"], env) as collector, plantroom(["api", "--port", str(port)], env):
        wait_listening(port)
        ts = int(datetime.now(UTC).timestamp() * 1000)
        payload = json.dumps({"ts": ts, "values": {"level_m": 2.5, "low_level": False}}).encode()
        topic = "plantroom/lakeside/b2/water_tank/tank-fire/telemetry"
        deadline = time.monotonic() + 20
        body: dict[str, object] = {}
        with publisher(MqttEndpoint.parse(mosquitto.url)) as client:
            # the collector may still be connecting: publish until the API shows the value
            while time.monotonic() < deadline:
                publish_all(client, [(topic, payload)])
                url = f"http://127.0.0.1:{port}/api/v1/equipment/tank-fire"
                request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
                with urllib.request.urlopen(request, timeout=2) as response:
                    body = json.loads(response.read())
                if body["signals"]:
                    break
                time.sleep(0.2)
        assert body["signals"] == {
            "level_m": {
                "value": 2.5,
                "quality": "good",
                "ts": body["signals"]["level_m"]["ts"],  # type: ignore[index]
                "unit": "m",
                "reason": None,
            },
            "low_level": {
                "value": False,
                "quality": "good",
                "ts": body["signals"]["low_level"]["ts"],  # type: ignore[index]
                "unit": None,
                "reason": None,
            },
        }
        assert collector.poll() is None


def test_collector_process_serves_its_metrics(mosquitto: Mosquitto, tmp_path: Path) -> None:
    port = free_port()
    env = env_for(tmp_path, mosquitto.url, PLANTROOM_METRICS_PORT=str(port))
    with plantroom(["collect"], env):
        wait_listening(port, timeout=30)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            text = response.read().decode()
    assert "plantroom_buffer_depth 0" in text
    assert "plantroom_buffer_oldest_age_seconds 0" in text


def test_bad_configuration_is_a_clear_error(tmp_path: Path) -> None:
    cases = [
        (env_for(tmp_path, "mqtt://127.0.0.1:1", PLANTROOM_METRICS_PORT="http"), "METRICS_PORT"),
        (env_for(tmp_path, "amqp://x"), "must start with mqtt://"),
        (env_for(tmp_path, "mqtt://127.0.0.1:1", PLANTROOM_TSDB_URL="redis://x"), "not supported"),
        (
            env_for(tmp_path, "mqtt://127.0.0.1:1", PLANTROOM_SITE=str(tmp_path / "no.yaml")),
            "cannot read",
        ),
        (
            env_for(tmp_path, "mqtt://127.0.0.1:1", PLANTROOM_COLLECTOR_SHARD="4/3"),
            "PLANTROOM_COLLECTOR_SHARD",
        ),
    ]
    for env, message in cases:
        result = run_cli(["collect"], env)
        assert result.returncode == 1, result.stderr
        assert message in result.stderr
