"""The MQTT collector against real brokers: mosquitto and the embedded amqtt broker."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from collectors.mqtt import MqttCollector, MqttCollectorSettings
from collectors.sink import ReadingSink
from core.clock import FakeClock
from core.endpoints import MqttEndpoint
from core.metrics import Metrics
from core.readings import Quality, Reading
from core.site import Site
from storage import RecordsDB, SqliteTimeSeriesStore
from tests.mqtt_helpers import publish, running_collector, wait_until
from tests.servers.mosquitto import Mosquitto

PUMP = "plantroom/lakeside/b1/pump/pump-domestic-1/telemetry"
TANK = "plantroom/lakeside/b1/water_tank/tank-domestic/telemetry"
T0 = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(autouse=True)
def _recent_t0() -> None:
    """Device times a little in the past, as a device with a good clock sends them: further
    than PLANTROOM_MQTT_MAX_CLOCK_SKEW off, they would be stored at arrival time instead."""
    global T0
    T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)


def good(seq: int) -> bytes:
    ts = int((T0 + timedelta(seconds=seq)).timestamp() * 1000)
    return json.dumps({"ts": ts, "seq": seq, "values": {"starts": seq, "current_a": 10.5}}).encode()


MALFORMED: list[tuple[str, bytes]] = [
    (PUMP, b'{"values": {"starts": '),  # bad JSON
    (PUMP, b'{"values": {"starts": "many"}}'),  # wrong type
    ("plantroom/lakeside/b1/pump/ghost-pump/telemetry", b'{"values": {"starts": 1}}'),  # unknown
    (PUMP, b"[" * 70_000),  # oversized
    (PUMP, b"\xc3\x28\xa0\xa1"),  # not UTF-8
    (TANK, b'{"values": {"level_m": true}}'),  # wrong type for a float
]


def count(store: SqliteTimeSeriesStore, equipment: str, signal: str) -> int:
    rows = store.history(equipment, signal, T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    return sum(1 for r in rows if isinstance(r, Reading) and r.quality is Quality.GOOD)


@pytest.fixture(params=["mosquitto", "embedded"])
def broker(request: pytest.FixtureRequest) -> MqttEndpoint:
    if request.param == "mosquitto":
        server: Mosquitto = request.getfixturevalue("mosquitto")
        return MqttEndpoint.parse(server.url)
    endpoint: MqttEndpoint = request.getfixturevalue("embedded_broker")
    return endpoint


async def test_good_readings_around_malformed_messages_are_all_stored(
    broker: MqttEndpoint, site: Site, ts_store: SqliteTimeSeriesStore, records: RecordsDB
) -> None:
    metrics = Metrics()
    # shared subscription only where the broker supports it (DESIGN §6)
    share = None if broker.port and broker.embedded else "plantroom"
    settings = MqttCollectorSettings(broker, client_id="c-malformed", share_group=share)
    async with running_collector(site, ts_store, records, settings, metrics):
        messages: list[tuple[str, bytes]] = []
        for seq in range(1, 121):
            messages.append((PUMP, good(seq)))
            if seq % 20 == 0:
                messages.append(MALFORMED[seq // 20 - 1])
        await publish(broker, messages)
        await wait_until(
            lambda: count(ts_store, "pump-domestic-1", "starts") == 120, what="120 good"
        )
        await wait_until(lambda: len(records.dead_letters()) == len(MALFORMED), what="dead letters")
    letters = {d.reason.split(":")[0] for d in records.dead_letters()}
    assert letters == {
        "bad JSON",
        "starts",
        "unknown topic",
        "oversized payload",
        "payload is not UTF-8",
        "level_m",
    }
    assert count(ts_store, "pump-domestic-1", "current_a") == 120
    assert metrics.total("plantroom_mqtt_rejected_total") == len(MALFORMED)
    invalid = ts_store.latest(["tank-domestic"])[("tank-domestic", "level_m")]
    assert invalid.quality is Quality.INVALID and "expected float" in (invalid.reason or "")


async def test_offline_status_marks_the_machine_comm_fault(
    broker: MqttEndpoint, site: Site, ts_store: SqliteTimeSeriesStore
) -> None:
    settings = MqttCollectorSettings(broker, client_id="c-status")
    async with running_collector(site, ts_store, None, settings):
        status = "plantroom/lakeside/b1/pump/pump-domestic-1/status"
        await publish(broker, [(PUMP, good(1)), (status, b"offline")])
        key = ("pump-domestic-1", "starts")

        def offline() -> bool:
            latest = ts_store.latest(["pump-domestic-1"]).get(key)
            return latest is not None and latest.quality is Quality.COMM_FAULT

        await wait_until(offline, what="comm_fault after offline status")


async def test_machines_that_go_quiet_are_marked_stale_once(
    site: Site, ts_store: SqliteTimeSeriesStore
) -> None:
    clock = FakeClock(datetime.now(UTC))
    sink = ReadingSink(ts_store, metrics=Metrics())
    endpoint = MqttEndpoint.parse("mqtt://127.0.0.1:1")  # never connected in this test
    collector = MqttCollector(site, sink, MqttCollectorSettings(endpoint), clock=clock)
    assert collector.check_stale() == []  # starts the timers
    clock.advance(29)
    assert collector.check_stale() == []
    clock.advance(2)
    marked = collector.check_stale()
    machines = {r.equipment for r in marked}
    assert machines == {eq.id for eq in site.equipment if eq.source.mqtt}  # all 30s
    assert all(r.quality is Quality.STALE and r.value is None for r in marked)
    assert collector.check_stale() == []  # once, not every check
    await sink.flush()
    stale = ts_store.latest(["tank-fire"])[("tank-fire", "level_m")]
    assert stale.quality is Quality.STALE and stale.reason == "no data for 30s"


async def test_shared_subscription_splits_the_load_on_mosquitto(
    mosquitto: Mosquitto, site: Site, ts_store: SqliteTimeSeriesStore
) -> None:
    endpoint = MqttEndpoint.parse(mosquitto.url)
    first, second = Metrics(), Metrics()
    a = MqttCollectorSettings(endpoint, client_id="c-share-a", share_group="plantroom")
    b = MqttCollectorSettings(endpoint, client_id="c-share-b", share_group="plantroom")
    async with (
        running_collector(site, ts_store, None, a, first),
        running_collector(site, ts_store, None, b, second),
    ):
        await publish(endpoint, [(PUMP, good(seq)) for seq in range(1, 201)])
        await wait_until(lambda: count(ts_store, "pump-domestic-1", "starts") == 200, what="200")
    got_a = first.total("plantroom_mqtt_messages_total")
    got_b = second.total("plantroom_mqtt_messages_total")
    assert got_a + got_b == 200
    assert got_a > 0 and got_b > 0


async def test_embedded_broker_ignores_shared_subscriptions(
    embedded_broker: MqttEndpoint, site: Site, ts_store: SqliteTimeSeriesStore, tmp_path: Path
) -> None:
    """Measured behaviour of amqtt 0.12 (DESIGN §6): why the share group is off against it."""
    shared_metrics, plain_metrics = Metrics(), Metrics()
    other_store = SqliteTimeSeriesStore(tmp_path / "other.db")
    shared = MqttCollectorSettings(embedded_broker, client_id="c-amqtt-shared", share_group="g")
    plain = MqttCollectorSettings(embedded_broker, client_id="c-amqtt-plain")
    async with (
        running_collector(site, other_store, None, shared, shared_metrics),
        running_collector(site, ts_store, None, plain, plain_metrics),
    ):
        await publish(embedded_broker, [(PUMP, good(seq)) for seq in range(1, 21)])
        await wait_until(lambda: count(ts_store, "pump-domestic-1", "starts") == 20, what="20")
    assert shared_metrics.total("plantroom_mqtt_messages_total") == 0
    other_store.close()


async def test_persistent_session_receives_what_was_published_while_away(
    mosquitto: Mosquitto, site: Site, ts_store: SqliteTimeSeriesStore
) -> None:
    endpoint = MqttEndpoint.parse(mosquitto.url)
    settings = MqttCollectorSettings(endpoint, client_id="c-persistent")
    async with running_collector(site, ts_store, None, settings):
        await publish(endpoint, [(PUMP, good(1))])
        await wait_until(lambda: count(ts_store, "pump-domestic-1", "starts") == 1, what="first")
    await publish(endpoint, [(PUMP, good(seq)) for seq in range(2, 51)])  # the collector is away
    async with running_collector(site, ts_store, None, settings):
        await wait_until(lambda: count(ts_store, "pump-domestic-1", "starts") == 50, what="50")
