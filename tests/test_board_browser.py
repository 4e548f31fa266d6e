"""The alarm board in headless Chromium against a running ``plantroom demo`` (issue 6).

A fault is injected into the running simulator over its MQTT control topic; the test
measures how long until the page shows it (the monitoring room's ≤ 2 s), then does the same
for a fire alarm, which must fill the top of the screen. Screenshots and the measured times
go to ``test-artifacts/``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.endpoints import MqttEndpoint
from core.site import load_site
from simulators.control import send_command
from tests.servers.chromium import Chromium, Page, chromium_binary
from tests.servers.ports import free_port, wait_listening

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
DISPLAY_BOUND_S = 2.0  # DESIGN §1: alarm display delay ≤ 2 s

PUMP_ALARM = "document.querySelector('#alarms li[data-equipment=\"pump-domestic-1\"]') !== null"
FIRE_SHOWN = "!document.getElementById('fire-banner').hidden"
PUMP_TILE_FAULT = (
    "document.querySelector('.tile[data-equipment=\"pump-domestic-1\"]').dataset.state === 'fault'"
)
LIVE = (
    "document.getElementById('status').dataset.state === 'live' && !!document.body.dataset.updated"
)


def _site_on_free_ports(tmp_path: Path) -> Path:
    """The example site with its simulated Modbus gateways on ports this test picked, so a
    demo running elsewhere on this machine cannot collide with it."""
    text = (ROOT / "examples" / "site.yaml").read_text("utf-8")
    ports = {p: str(free_port()) for p in set(re.findall(r"port: (\d+)", text))}
    text = re.sub(r"port: (\d+)", lambda m: f"port: {ports[m.group(1)]}", text)
    if (ROOT / "examples" / "maps").is_dir():
        shutil.copytree(ROOT / "examples" / "maps", tmp_path / "maps")
    site = tmp_path / "site.yaml"
    site.write_text(text, "utf-8")
    return site


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[int, MqttEndpoint]]:
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
            "120",
            "--data-dir",
            str(tmp_path / "data"),
            "--site",
            str(_site_on_free_ports(tmp_path)),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        broker: int | None = None
        for line in process.stdout:
            found = re.search(r"MQTT broker:\s+mqtt://127\.0\.0\.1:(\d+)", line)
            if found:
                broker = int(found.group(1))
                break
        if broker is None:
            process.wait(timeout=30)
            assert process.stderr is not None
            raise AssertionError(f"the demo printed no broker URL: {process.stderr.read()[-2000:]}")
        wait_listening(port, timeout=30)
        yield port, MqttEndpoint.parse(f"mqtt://127.0.0.1:{broker}")
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Page]:
    if chromium_binary() is None:
        pytest.skip("Debian chromium is not installed (make test installs it)")
    browser = Chromium(tmp_path / "chromium")
    try:
        yield browser.page()
    finally:
        browser.stop()


def _wait(page: Page, expression: str, timeout: float) -> float:
    """Poll the page until ``expression`` is true; the monotonic time it was first seen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # while the page is still loading its elements may not exist yet: that is "not yet"
        if (
            page.evaluate(
                f"(() => {{ try {{ return {expression}; }} catch (e) {{ return false; }} }})()"
            )
            is True
        ):
            return time.monotonic()
        time.sleep(0.02)
    raise AssertionError(f"the page never showed: {expression}")


def test_injected_faults_show_on_the_board_within_two_seconds(
    demo: tuple[int, MqttEndpoint], page: Page
) -> None:
    port, broker = demo
    page.navigate(f"http://127.0.0.1:{port}/")
    _wait(page, LIVE, timeout=30)  # loaded, snapshot shown, stream connected
    assert page.evaluate(PUMP_ALARM) is False and page.evaluate(FIRE_SHOWN) is False

    sent = time.monotonic()
    answer = send_command(broker, "lakeside", {"equipment": "pump-domestic-1", "inject": "trip"})
    applied = time.monotonic()  # the simulated pump has tripped and reports it
    assert answer["ok"], answer
    shown = _wait(page, PUMP_ALARM, timeout=10)
    pump_s = shown - applied
    # the machine's tile on the overview turns to its fault too
    tile_shown = _wait(page, PUMP_TILE_FAULT, timeout=10)
    tile_s = tile_shown - applied
    ticket = "document.querySelector('#tickets tr[data-equipment=\"pump-domestic-1\"]') !== null"
    _wait(page, ticket, timeout=10)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(ARTIFACTS / "alarm-board-pump-trip.png")

    answer = send_command(
        broker,
        "lakeside",
        {"equipment": "firepanel-1", "inject": "fire_alarm", "params": {"zone": 3}},
    )
    fire_applied = time.monotonic()
    assert answer["ok"], answer
    fire_shown = _wait(page, FIRE_SHOWN, timeout=10)
    fire_s = fire_shown - fire_applied
    banner = page.evaluate("document.getElementById('fire-banner').textContent")
    width = page.evaluate(
        "document.getElementById('fire-banner').getBoundingClientRect().width"
        " / document.documentElement.clientWidth"  # the page's width, less a scroll bar
    )
    page.screenshot(ARTIFACTS / "alarm-board-fire-alarm.png")
    measured = {
        "pump_trip_to_display_s": round(pump_s, 3),
        "pump_trip_command_to_display_s": round(shown - sent, 3),
        "pump_trip_to_overview_tile_s": round(tile_s, 3),
        "fire_alarm_to_display_s": round(fire_s, 3),
        "bound_s": DISPLAY_BOUND_S,
    }
    (ARTIFACTS / "alarm-board-latency.json").write_text(json.dumps(measured, indent=2) + "\n")
    print(f"alarm board: {measured}")

    assert "火警" in banner and "消防报警主机" in banner
    assert "报警分区 3" in banner  # the zone the panel reports
    assert width > 0.99  # full width
    assert "生活变频泵1号" in page.evaluate("document.getElementById('alarms').textContent")
    assert pump_s <= DISPLAY_BOUND_S, measured
    assert tile_s <= DISPLAY_BOUND_S, measured
    assert fire_s <= DISPLAY_BOUND_S, measured


SOUND = "document.body.dataset.sound"
SIZES = {  # name: (width, height, phone)
    "1080p": (1920, 1080, False),
    "laptop": (1366, 768, False),
    "phone": (390, 844, True),
}


def test_sound_silencing_and_layout_at_three_sizes(
    demo: tuple[int, MqttEndpoint], page: Page
) -> None:
    port, broker = demo
    page.navigate(f"http://127.0.0.1:{port}/")
    _wait(page, LIVE, timeout=30)
    machines = len(load_site(ROOT / "examples" / "site.yaml").equipment)
    _wait(page, f"document.querySelectorAll('.tile').length === {machines}", timeout=10)
    # browsers need a click before any sound: until then the board says it is silent
    assert page.evaluate(SOUND) == "off"
    page.evaluate("document.getElementById('sound').click()", user_gesture=True)
    _wait(page, f"{SOUND} === 'on' || {SOUND} === 'playing'", timeout=10)
    assert page.evaluate("sound.context.state") == "running"

    answer = send_command(broker, "lakeside", {"equipment": "pump-domestic-1", "inject": "trip"})
    assert answer["ok"], answer
    _wait(page, f"{SOUND} === 'playing'", timeout=10)
    assert page.evaluate("document.body.dataset.tone") == "critical"  # a pump trip's tone
    assert page.evaluate("!document.getElementById('silence').hidden")
    ARTIFACTS.mkdir(exist_ok=True)
    for name, (width, height, phone) in SIZES.items():
        page.resize(width, height, mobile=phone, scale=2 if phone else 1)
        time.sleep(0.3)  # let the layout settle
        # nothing runs off the side, and every machine is on the page
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (name, overflow)
        assert page.evaluate("document.querySelectorAll('.tile').length") == machines
        tiles_right = page.evaluate(
            "Math.max(...[...document.querySelectorAll('.tile')]"
            ".map(t => t.getBoundingClientRect().right))"
        )
        assert tiles_right <= width, (name, tiles_right)
        page.screenshot(ARTIFACTS / f"board-{name}.png")
    page.resize(1920, 1080)

    page.evaluate("document.getElementById('silence').click()", user_gesture=True)
    _wait(page, f"{SOUND} === 'silenced'", timeout=10)
    alarms = page.evaluate("document.getElementById('alarms').textContent")
    assert "已消音 local reader" in alarms
    # recorded in the machine's logbook with who and when
    with urllib.request.urlopen(
        f"http://127.0.0.1:{port}/api/v1/equipment/pump-domestic-1/log?type=silenced", timeout=5
    ) as response:
        entries = json.loads(response.read())["entries"]
    assert [e["actor"] for e in entries] == ["local reader"] and entries[0]["ts"]
