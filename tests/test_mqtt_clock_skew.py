"""Staleness by arrival time (DESIGN §5, issue 11): whatever a device's clock says, a machine
that goes quiet turns stale in the latest view, and fresh values show as fresh at once.

Messages go through the collector's own message callback on a fake clock, into a real SQLite
store, so each step happens at an exact time."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import pytest

from collectors.mqtt import MqttCollector, MqttCollectorSettings
from collectors.sink import ReadingSink
from core.clock import FakeClock
from core.endpoints import MqttEndpoint
from core.metrics import Metrics
from core.readings import Quality
from core.site import Site
from storage import SqliteTimeSeriesStore

PUMP = "plantroom/lakeside/b1/pump/pump-domestic-1/telemetry"
STATUS = "plantroom/lakeside/b1/pump/pump-domestic-1/status"


class Rig:
    """One collector on a fake clock; ``send`` is a message arriving now."""

    def __init__(self, site: Site, store: SqliteTimeSeriesStore, max_skew: float = 120) -> None:
        self.clock = FakeClock(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
        self.metrics = Metrics()
        self.store = store
        self.sink = ReadingSink(store, metrics=self.metrics)
        settings = MqttCollectorSettings(
            MqttEndpoint.parse("mqtt://127.0.0.1:1"),  # never connected: messages are fed in
            manual_ack=False,
            max_clock_skew=timedelta(seconds=max_skew),
        )
        self.collector = MqttCollector(
            site, self.sink, settings, clock=self.clock, metrics=self.metrics
        )
        self.collector.check_stale()  # starts the stale timers

    async def send(self, device_offset: float, starts: int, topic: str = PUMP) -> None:
        """A message from a device whose clock is ``device_offset`` seconds off ours."""
        device_ts = self.clock.now() + timedelta(seconds=device_offset)
        message = mqtt.MQTTMessage(mid=1, topic=topic.encode())
        body = {"ts": int(device_ts.timestamp() * 1000), "values": {"starts": starts}}
        message.payload = json.dumps(body).encode()
        self.collector._on_message(None, None, message)  # type: ignore[arg-type]
        await self.sink.flush()

    async def status(self, state: bytes) -> None:
        message = mqtt.MQTTMessage(mid=1, topic=STATUS.encode())
        message.payload = state
        self.collector._on_message(None, None, message)  # type: ignore[arg-type]
        await self.sink.flush()

    async def wait(self, seconds: float) -> None:
        """Let ``seconds`` pass in steps of one, as the collector's stale check does."""
        for _ in range(int(seconds)):
            self.clock.advance(1)
            self.collector.check_stale()
        await self.sink.flush()

    def quality(self) -> Quality:
        latest = self.store.latest(["pump-domestic-1"])[("pump-domestic-1", "starts")]
        return latest.quality

    def value(self) -> float | None:
        return self.store.latest(["pump-domestic-1"])[("pump-domestic-1", "starts")].value


# device clock offsets: far ahead and behind (beyond the bound), and within it
OFFSETS = [300.0, -300.0, 90.0, -90.0, 0.0]


@pytest.mark.parametrize("offset", OFFSETS)
async def test_a_quiet_machine_turns_stale_and_a_fresh_value_is_fresh_at_once(
    offset: float, site: Site, ts_store: SqliteTimeSeriesStore
) -> None:
    rig = Rig(site, ts_store)
    for n in range(1, 4):
        await rig.send(offset, n)
        await rig.wait(5)
    assert (rig.quality(), rig.value()) == (Quality.GOOD, 3.0)
    await rig.wait(31)  # the example pump's stale_after is 30 s
    assert rig.quality() is Quality.STALE  # a fast clock used to keep it "good" forever
    await rig.send(offset, 4)
    assert (rig.quality(), rig.value()) == (Quality.GOOD, 4.0)  # a slow one kept it "stale"
    await rig.wait(31)
    assert rig.quality() is Quality.STALE
    await rig.status(b"offline")
    assert rig.quality() is Quality.COMM_FAULT
    await rig.send(offset, 5)
    assert (rig.quality(), rig.value()) == (Quality.GOOD, 5.0)
    await rig.status(b"offline")
    assert rig.quality() is Quality.COMM_FAULT


async def test_clock_skew_beyond_the_bound_is_counted_and_shown_per_machine(
    site: Site, ts_store: SqliteTimeSeriesStore
) -> None:
    rig = Rig(site, ts_store, max_skew=120)
    await rig.send(300, 1)
    await rig.send(300, 2)
    assert rig.metrics.value("plantroom_mqtt_clock_skew_total", equipment="pump-domestic-1") == 2
    assert rig.metrics.value(
        "plantroom_mqtt_clock_skew_seconds", equipment="pump-domestic-1"
    ) == pytest.approx(300, abs=1)
    # stored at arrival time, not in the device's future
    latest = ts_store.latest(["pump-domestic-1"])[("pump-domestic-1", "starts")]
    assert abs((latest.ts - rig.clock.now()).total_seconds()) < 1
    await rig.send(-30, 3)  # within the bound: the device's own time is kept
    assert rig.metrics.value("plantroom_mqtt_clock_skew_total", equipment="pump-domestic-1") == 2
    assert rig.metrics.value(
        "plantroom_mqtt_clock_skew_seconds", equipment="pump-domestic-1"
    ) == pytest.approx(-30, abs=1)
    assert rig.metrics.value("plantroom_mqtt_clock_skew_total", equipment="tank-fire") == 0


async def test_a_device_time_within_the_bound_is_the_reading_time(
    site: Site, ts_store: SqliteTimeSeriesStore
) -> None:
    """Within the bound the device's time stands, so a redelivered message replaces its row."""
    rig = Rig(site, ts_store)
    await rig.send(-60, 1)
    rows = ts_store.history(
        "pump-domestic-1", "starts", rig.clock.now() - timedelta(hours=1), rig.clock.now()
    )
    assert [r.ts for r in rows] == [rig.clock.now() - timedelta(seconds=60)]
