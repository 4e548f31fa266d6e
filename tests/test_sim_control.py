"""Injecting faults by hand into a running simulation, over the MQTT control topic."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.endpoints import MqttEndpoint
from core.site import load_site
from plantroom.simulate import inject
from simulators.control import send_command
from simulators.runner import Simulation
from tests.servers.mosquitto import Mosquitto

SITE_PATH = Path(__file__).resolve().parent / "sites" / "sim-mqtt.yaml"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
async def running(mosquitto: Mosquitto) -> AsyncIterator[Simulation]:
    simulation = Simulation(load_site(SITE_PATH), MqttEndpoint.parse(mosquitto.url), tick=0.05)
    stop = asyncio.Event()
    task = asyncio.ensure_future(simulation.run(stop))
    assert simulation.control is not None
    subscribed = simulation.control.subscribed
    await asyncio.to_thread(subscribed.wait, 10)
    yield simulation
    stop.set()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_a_command_injects_and_clears_a_fault_and_bad_ones_are_refused(
    running: Simulation, mosquitto: Mosquitto
) -> None:
    endpoint = MqttEndpoint.parse(mosquitto.url)
    command = {
        "select": {"kind": "pump", "role": "domestic"},
        "inject": "trip",
        "params": {"code": 9},
    }
    answer = await asyncio.to_thread(send_command, endpoint, "lakeside", command)
    assert answer["ok"] and answer["equipment"] == "pump-domestic-1"
    pump = running.plant.pumps["pump-domestic-1"]
    assert "trip" in pump.faults  # applied before the answer; the next tick publishes it
    deadline = asyncio.get_running_loop().time() + 5
    while pump.values()["fault_code"] != 9:
        assert asyncio.get_running_loop().time() < deadline, "trip never reached the values"
        await asyncio.sleep(0.01)

    answer = await asyncio.to_thread(
        send_command, endpoint, "lakeside", {"equipment": "pump-domestic-1", "clear": "trip"}
    )
    assert answer["ok"]
    assert "trip" not in pump.faults

    answer = await asyncio.to_thread(
        send_command, endpoint, "lakeside", {"equipment": "lift-b1-1", "inject": "trip"}
    )
    assert not answer["ok"] and "elevator lift-b1-1 has no fault 'trip'" in answer["error"]
    answer = await asyncio.to_thread(
        send_command, endpoint, "lakeside", {"equipment": "lift-b1-1", "inject": "x", "clear": "y"}
    )
    assert not answer["ok"] and "give exactly one of inject or clear" in answer["error"]


async def test_plantroom_inject_talks_to_a_running_simulation(
    running: Simulation, mosquitto: Mosquitto, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLANTROOM_MQTT_URL", mosquitto.url)
    code, text = await asyncio.to_thread(
        inject,
        SITE_PATH,
        "tank-domestic",
        "flapping_switch",
        False,
        ["switch=low_level", "period=5"],
        10.0,
    )
    assert (code, text) == (0, "injected flapping_switch on tank-domestic")
    tank = running.plant.tanks["tank-domestic"]
    assert tank.faults.active["flapping_switch"] == {"switch": "low_level", "period": 5}
    code, text = await asyncio.to_thread(
        inject, SITE_PATH, "tank-domestic", "flapping_switch", True, [], 10.0
    )
    assert code == 0 and "flapping_switch" not in tank.faults
    code, text = await asyncio.to_thread(
        inject, SITE_PATH, "tank-domestic", "leak", False, ["speed=5"], 10.0
    )
    assert code == 1 and "fault 'leak' has no parameter speed" in text


def test_plantroom_inject_without_a_simulation_says_so(mosquitto: Mosquitto) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "plantroom.cli",
            "inject",
            "--site",
            str(SITE_PATH),
            "--timeout",
            "1",
            "pump-domestic-1",
            "trip",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        env={"PLANTROOM_MQTT_URL": mosquitto.url, "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 1
    assert "is `plantroom simulate` running?" in result.stderr


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "plantroom.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", **env},
    )


def test_plantroom_simulate_runs_a_scenario_to_its_end(mosquitto: Mosquitto) -> None:
    result = _cli(
        "simulate",
        "--site",
        str(SITE_PATH),
        "--scenario",
        "pump_trip",
        "--speed",
        "600",
        "--tick",
        "0.05",
        env={"PLANTROOM_MQTT_URL": mosquitto.url},
    )
    assert result.returncode == 0, result.stderr
    assert "scenario pump_trip finished" in result.stdout
    assert "fault injected equipment=pump-domestic-1 fault=trip" in result.stderr
    assert "fault cleared equipment=pump-domestic-1 fault=trip" in result.stderr


def test_plantroom_simulate_names_a_bad_scenario(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ndescription: x\nduration: 1m\nsteps: [{at: 1s}]\n")
    result = _cli("simulate", "--site", str(SITE_PATH), "--scenario", str(bad), env={})
    assert result.returncode == 2
    assert "steps[0]: Value error, give exactly one of equipment or select" in result.stderr
    result = _cli("simulate", "--site", str(SITE_PATH), "--scenario", "no_such", env={})
    assert result.returncode == 2 and "no such scenario file or name" in result.stderr
