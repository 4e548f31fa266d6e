"""``plantroom run``: the components named by the environment in one process."""

from __future__ import annotations

import json
import signal
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.endpoints import MqttEndpoint
from tests.mqtt_helpers import publish_all, publisher
from tests.servers.mosquitto import Mosquitto
from tests.servers.ports import free_port, wait_listening
from tests.test_processes import create_key, env_for, plantroom, run_cli

TRIP_TOPIC = "plantroom/lakeside/b1/pump/pump-domestic-1/telemetry"


def _get(url: str, key: str) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def _trip(ts_ms: int, fault: bool) -> bytes:
    values = {"running": not fault, "fault": fault, "fault_code": 7 if fault else 0}
    return json.dumps({"ts": ts_ms, "values": values}).encode()


def test_one_process_collects_alerts_and_streams_the_ticket_as_it_opens(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    env = env_for(tmp_path, mosquitto.url)
    key = create_key(env)
    port = free_port()
    base = f"http://127.0.0.1:{port}/api/v1"
    with plantroom(["run", "--port", str(port), "--interval", "0.1"], env) as process:
        wait_listening(port, timeout=30)
        stream = urllib.request.urlopen(
            urllib.request.Request(f"{base}/stream", headers={"Authorization": f"Bearer {key}"}),
            timeout=30,
        )
        now = int(datetime.now(UTC).timestamp() * 1000)
        with publisher(MqttEndpoint.parse(mosquitto.url)) as client:
            # the collector may still be subscribing: repeat the healthy reading until stored
            deadline = time.monotonic() + 30
            while not _get(f"{base}/equipment/pump-domestic-1", key)["signals"]:
                assert time.monotonic() < deadline, "the collector stored nothing"
                publish_all(client, [(TRIP_TOPIC, _trip(now, fault=False))])
                time.sleep(0.2)
            publish_all(client, [(TRIP_TOPIC, _trip(now + 1000, fault=True))])
            # the engine in this process puts the ticket on the stream itself (no logbook feed)
            events: list[dict[str, Any]] = []
            while not any(e.get("type") == "ticket" for e in events):
                line = stream.readline().decode()
                assert line, "the stream ended"
                if line.startswith("data: "):
                    events.append(json.loads(line.removeprefix("data: ")))
        stream.close()
        ticket = next(e for e in events if e["type"] == "ticket")
        assert ticket["equipment"] == "pump-domestic-1"
        assert ticket["event"] == "opened"
        tickets = _get(f"{base}/tickets?equipment=pump-domestic-1", key)
        assert [t["ticket_class"] for t in tickets["tickets"]] == ["urgent"]
        assert process.poll() is None


def test_components_come_from_the_environment(tmp_path: Path) -> None:
    # without the collectors no broker is started, embedded or not
    env = env_for(tmp_path, "embedded", PLANTROOM_COMPONENTS="alerts,api")
    key = create_key(env)
    port = free_port()
    with plantroom(["run", "--port", str(port)], env) as process:
        wait_listening(port, timeout=30)
        assert _get(f"http://127.0.0.1:{port}/api/v1/health", key)["status"] == "ok"
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert 'running components="alerts,api"' in err


def test_unknown_components_and_bad_options_are_clear_errors(tmp_path: Path) -> None:
    env = env_for(tmp_path, "mqtt://127.0.0.1:1")
    cases = [
        (["run", "--components", "collect,grafana"], "'grafana' given; choose from"),
        (["run", "--components", ","], "none given"),
        (["alerts", "--interval", "0"], "must be positive"),
    ]
    for args, message in cases:
        result = run_cli(args, env)
        assert result.returncode == 1, result.stderr
        assert message in result.stderr
