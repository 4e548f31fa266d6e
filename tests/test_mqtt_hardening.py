"""Issue 11, the ingest half: no single MQTT message can stop collection, dead letters never
hold readings back and do not grow without end, device input never becomes a metric label."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from collectors.mqtt import MqttCollectorSettings
from collectors.sink import ReadingSink
from core.endpoints import MqttEndpoint
from core.metrics import Metrics
from core.readings import Reading
from core.site import Site
from core.text import safe_text
from storage import RecordsDB, SqliteTimeSeriesStore
from storage.records import DeadLetter
from tests.mqtt_helpers import publish, running_collector, wait_until
from tests.servers.mosquitto import Mosquitto
from tests.servers.postgres import Postgres

PUMP = "plantroom/lakeside/b1/pump/pump-domestic-1/telemetry"
# the reproduction of issue 11: a JSON key that decodes to an unpaired surrogate
POISON = b'{"values": {"\\ud800": 1}}'


def good(starts: int) -> bytes:
    ts = int(datetime.now(UTC).timestamp() * 1000) + starts  # distinct within a burst
    return json.dumps({"ts": ts, "values": {"starts": starts}}).encode()


def starts_stored(store: SqliteTimeSeriesStore) -> set[float]:
    now = datetime.now(UTC)
    rows = store.history("pump-domestic-1", "starts", now - timedelta(hours=1), now + timedelta(1))
    return {r.value for r in rows if isinstance(r, Reading) and r.value is not None}


async def test_a_poison_message_still_queued_at_restart_is_dead_lettered_and_acked(
    mosquitto: Mosquitto, site: Site, ts_store: SqliteTimeSeriesStore, records: RecordsDB
) -> None:
    endpoint = MqttEndpoint.parse(mosquitto.url)
    settings = MqttCollectorSettings(endpoint, client_id="c-poison")
    async with running_collector(site, ts_store, records, settings):
        pass  # the persistent session now exists: what follows is queued for this collector
    await publish(endpoint, [(PUMP, POISON)])  # waits at the broker, as after a crash
    metrics = Metrics()
    async with running_collector(site, ts_store, records, settings, metrics):
        await wait_until(lambda: len(records.dead_letters()) == 1, what="poison dead-lettered")
        await publish(endpoint, [(PUMP, good(1))])
        await wait_until(lambda: starts_stored(ts_store) == {1.0}, what="good message after it")
    (letter,) = records.dead_letters()
    assert letter.reason == "unknown signal '\\ud800' for kind pump"  # escaped, storable
    assert letter.payload == POISON
    assert metrics.value("plantroom_mqtt_rejected_total", reason="unknown_signal") == 1
    # it was acknowledged: a third start is not handed the poison again
    again = Metrics()
    async with running_collector(site, ts_store, records, settings, again):
        await publish(endpoint, [(PUMP, good(2))])
        await wait_until(lambda: starts_stored(ts_store) == {1.0, 2.0}, what="second good")
    assert again.total("plantroom_mqtt_messages_total") == 1
    assert len(records.dead_letters()) == 1


async def test_an_unforeseen_error_in_one_message_is_dead_lettered_and_collection_goes_on(
    mosquitto: Mosquitto, site: Site, ts_store: SqliteTimeSeriesStore, records: RecordsDB
) -> None:
    """The error boundary holds for errors nobody has thought of yet (here: a decoder bug)."""
    endpoint = MqttEndpoint.parse(mosquitto.url)
    settings = MqttCollectorSettings(endpoint, client_id="c-boundary")
    metrics = Metrics()
    async with running_collector(site, ts_store, records, settings, metrics) as collector:
        decode = collector.router.decode

        def buggy(topic: str, payload: bytes, received_at: datetime) -> object:
            if b"boom" in payload:
                raise RuntimeError("decoder bug \ud800\x00" + "x" * 5000)
            return decode(topic, payload, received_at)

        collector.router.decode = buggy  # type: ignore[assignment,method-assign]
        await publish(endpoint, [(PUMP, b'{"values": {"boom": 1}}'), (PUMP, good(3))])
        await wait_until(lambda: starts_stored(ts_store) == {3.0}, what="good after the bug")
        await wait_until(lambda: len(records.dead_letters()) == 1, what="dead letter")
    (letter,) = records.dead_letters()
    assert letter.reason.startswith("internal error: RuntimeError at test_mqtt_hardening.py:")
    assert "decoder bug \\ud800\\x00xxx" in letter.reason and len(letter.reason) <= 500
    assert metrics.value("plantroom_mqtt_errors_total") == 1
    assert metrics.value("plantroom_mqtt_rejected_total", reason="internal_error") == 1
    # acknowledged: a restart is not handed it again
    again = Metrics()
    async with running_collector(site, ts_store, records, settings, again):
        await asyncio.sleep(0.5)
    assert again.total("plantroom_mqtt_messages_total") == 0


async def test_readings_are_stored_while_the_records_db_refuses_dead_letters(
    mosquitto: Mosquitto, site: Site, ts_store: SqliteTimeSeriesStore, tmp_path: Path
) -> None:
    path = tmp_path / "records-locked.db"
    records = RecordsDB(f"sqlite:///{path}")
    endpoint = MqttEndpoint.parse(mosquitto.url)
    settings = MqttCollectorSettings(endpoint, client_id="c-letters-down")
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")  # another process holds the records DB: it is down
    try:
        async with running_collector(site, ts_store, records, settings):
            await publish(endpoint, [(PUMP, b"{not json"), (PUMP, good(4)), (PUMP, good(5))])
            # readings go on while the dead letter waits for the records DB
            await wait_until(lambda: starts_stored(ts_store) == {4.0, 5.0}, what="readings")
            locker.execute("ROLLBACK")  # the records DB is back: the dead letter follows
            await wait_until(lambda: len(records.dead_letters()) == 1, what="late dead letter")
    finally:
        locker.close()
        records.close()
    assert starts_stored(ts_store) == {4.0, 5.0}


async def test_a_failing_records_db_costs_only_the_oldest_dead_letters(
    ts_store: SqliteTimeSeriesStore, tmp_path: Path
) -> None:
    path = tmp_path / "records-gone.db"
    records = RecordsDB(f"sqlite:///{path}")
    with records.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE dead_letters")  # every insert now fails
    metrics = Metrics()
    sink = ReadingSink(ts_store, records, metrics=metrics, max_letters=3)
    stop = asyncio.Event()
    task = asyncio.ensure_future(sink.run(stop))
    now = datetime.now(UTC)
    for n in range(5):
        sink.dead_letter(DeadLetter(now, "mqtt", "t", f"reason {n}", b"", 0))
    acked: list[bool] = []
    sink.submit([Reading("pump-domestic-1", "starts", now, 6.0)], lambda: acked.append(True))
    await wait_until(lambda: acked == [True], what="reading acknowledged")
    assert metrics.value("plantroom_dead_letters_dropped_total") == 2
    stop.set()
    await task  # ends although the records DB never came back
    records.close()


async def test_ten_thousand_unknown_signal_names_do_not_grow_the_metrics(
    mosquitto: Mosquitto, site: Site, ts_store: SqliteTimeSeriesStore, records: RecordsDB
) -> None:
    endpoint = MqttEndpoint.parse(mosquitto.url)
    settings = MqttCollectorSettings(endpoint, client_id="c-labels")
    metrics = Metrics()

    def unknown(n: int) -> tuple[str, bytes]:
        return PUMP, json.dumps({"values": {f"sig_{n}": 1, "starts": n}}).encode()

    async with running_collector(site, ts_store, records, settings, metrics):
        await publish(endpoint, [unknown(0)])
        await wait_until(
            lambda: metrics.total("plantroom_readings_stored_total") == 1, what="first stored"
        )
        before = metrics.render()
        await publish(endpoint, [unknown(n) for n in range(1, 10_000)])
        await wait_until(
            lambda: metrics.total("plantroom_readings_stored_total") == 10_000,
            timeout=60,
            what="10,000 messages",
        )
    after = metrics.render()
    assert series(after) == series(before)  # the same series, bigger numbers
    assert len(after) < len(before) + 100
    assert metrics.value("plantroom_mqtt_rejected_total", reason="unknown_signal") == 10_000
    assert "sig_" not in after


def series(metrics_text: str) -> list[str]:
    return [line.rsplit(" ", 1)[0] for line in metrics_text.splitlines() if line[:1] != "#"]


async def test_old_dead_letters_are_pruned_as_the_collector_runs(
    site: Site, ts_store: SqliteTimeSeriesStore, records: RecordsDB
) -> None:
    now = datetime.now(UTC)
    records.add_dead_letters(
        [
            DeadLetter(now - timedelta(days=30), "mqtt", "t", "old", b"", 0),
            DeadLetter(now - timedelta(hours=2), "mqtt", "t", "recent", b"", 0),
        ]
    )
    sink = ReadingSink(ts_store, records, letter_retention=timedelta(days=1))
    sink.prune_every = 0.05  # seconds; ten minutes in production
    stop = asyncio.Event()
    task = asyncio.ensure_future(sink.run(stop))
    await wait_until(lambda: len(records.dead_letters()) == 1, what="the old one pruned")
    assert [d.reason for d in records.dead_letters()] == ["recent"]
    # and again later, while running
    sink.letter_retention = timedelta(hours=1)
    await wait_until(lambda: records.dead_letters() == [], what="pruned while running")
    stop.set()
    await task


def test_dead_letters_beyond_the_row_cap_are_pruned_oldest_first(records: RecordsDB) -> None:
    now = datetime.now(UTC)
    records.add_dead_letters([DeadLetter(now, "mqtt", "t", str(n), b"", 0) for n in range(10)])
    assert records.prune_dead_letters(now - timedelta(days=1), keep_at_most=3) == 7
    assert [d.reason for d in records.dead_letters()] == ["9", "8", "7"]


def test_safe_text_escapes_what_no_database_or_log_takes_and_caps_the_length() -> None:
    assert safe_text("unknown signal '\ud800'") == "unknown signal '\\ud800'"
    assert safe_text("a\x00b\nc\x7f") == "a\\x00b\\x0ac\\x7f"
    assert safe_text("水泵 ok") == "水泵 ok"
    capped = safe_text("x" * 10_000, 50)
    assert len(capped) == 50 and capped.endswith("…")
    assert safe_text("\ud800" * 1000, 20).endswith("…")
    safe_text("\udfff" * 3).encode("utf-8")  # encodable, whatever came in


def test_dead_letters_of_any_text_are_kept_and_pruned_on_postgresql(postgres: Postgres) -> None:
    """PostgreSQL refuses NUL in text, and every driver a lone surrogate: a reason quoting
    either is stored escaped."""
    records = RecordsDB(postgres.create_database())
    now = datetime.now(UTC)
    try:
        records.add_dead_letters(
            [
                DeadLetter(now - timedelta(days=30), "mqtt", "t", "old", b"", 0),
                DeadLetter(now, "mqtt", "t/\x00", "unknown signal '\ud800\x00'", b"\x00", 1),
            ]
        )
        assert records.prune_dead_letters(now - timedelta(days=7), keep_at_most=10) == 1
        (letter,) = records.dead_letters()
        assert (letter.topic, letter.reason, letter.payload) == (
            "t/\\x00",
            "unknown signal '\\ud800\\x00'",
            b"\x00",
        )
        records.add_dead_letters([DeadLetter(now, "mqtt", "t", str(n), b"", 0) for n in range(3)])
        assert records.prune_dead_letters(now - timedelta(days=7), keep_at_most=2) == 2
        assert [d.reason for d in records.dead_letters()] == ["2", "1"]
    finally:
        records.close()
