"""Fault-to-ticket latency under load (``make bench-alerts``).

The demo site's machines publish telemetry over MQTT (the simulators' device transport) at a
background load of at least 2,000 readings per second, through the real collector, sink and
SQLite store, with the alert engine running in the same process as in ``plantroom demo``.
Every few seconds the domestic pump trips: we time from the simulator publishing the fault to
(a) the fault being readable in the store (the baseline: ingest alone) and (b) its ticket
being readable in the records DB. Then the fault clears, the ticket is closed, and again.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from alerts.runner import AlertService
from collectors.mqtt import MqttCollector, MqttCollectorSettings
from collectors.sink import ReadingSink
from core.endpoints import MqttEndpoint
from core.logs import configure_logging
from core.site import Site, parse_site, ticket_policy
from plantroom.broker import EmbeddedBroker
from simulators.mqtt_transport import MqttDevices
from storage import RecordsDB, SqliteTimeSeriesStore, site_tags
from storage.tickets import record_callback, tickets, transition
from tests.alerts.rig import HEALTHY
from tests.servers.mosquitto import start_mosquitto

ROOT = Path(__file__).resolve().parent.parent
FAULTY = "pump-domestic-1"


def demo_site() -> Site:
    raw = yaml.safe_load((ROOT / "examples" / "site.yaml").read_text(encoding="utf-8"))
    # every trip is a new ticket: no reopening, and no merging of repeated trips as flapping
    raw.setdefault("alerts", {}).update(reopen_window="0s", flapping={"changes": 1000})
    return parse_site(raw, "examples/site.yaml (bench)", base=ROOT / "examples")


class Load:
    """Publishes every machine's healthy values in rounds, at ``rate`` readings per second."""

    def __init__(self, site: Site, devices: MqttDevices, rate: float) -> None:
        self.site, self.devices, self.rate = site, devices, rate
        self.values = {
            eq.id: dict(HEALTHY[eq.kind]) for eq in site.equipment if eq.source.mqtt is not None
        }
        self.per_round = sum(len(v) for v in self.values.values())
        self.published = 0
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def set_fault(self, on: bool) -> float:
        with self.lock:
            self.values[FAULTY]["fault"] = 1.0 if on else 0.0
            t0 = time.perf_counter()
            self.devices.publish(FAULTY, datetime.now(UTC), self.values[FAULTY])
        return t0

    def run(self) -> None:
        interval = self.per_round / self.rate
        next_round = time.perf_counter()
        while not self.stop.is_set():
            with self.lock:
                now = datetime.now(UTC)
                for eq_id, values in self.values.items():
                    self.devices.publish(eq_id, now, values)
                    self.published += len(values)
            next_round += interval
            delay = next_round - time.perf_counter()
            if delay > 0:
                time.sleep(delay)


def poll(check: Any, timeout: float = 10.0) -> float:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if check():
            return time.perf_counter()
        time.sleep(0.002)
    raise TimeoutError("condition not met within 10 s")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def bench(rounds: int, rate: float, broker: str) -> None:
    site = demo_site()
    work = Path(tempfile.mkdtemp(prefix="plantroom-bench-alerts-"))
    mosquitto = None
    embedded = None
    if broker == "mosquitto":
        mosquitto = start_mosquitto(work / "mosquitto")
        endpoint = MqttEndpoint.parse(mosquitto.url)
    else:
        embedded = EmbeddedBroker()
        await embedded.start()
        endpoint = MqttEndpoint.parse("embedded").with_port(embedded.port)
    store = SqliteTimeSeriesStore(work / "ts.db", site_tags(site))
    records = RecordsDB(f"sqlite:///{work / 'records.db'}")
    sink = ReadingSink(store, records)
    collector = MqttCollector(site, sink, MqttCollectorSettings(endpoint, "bench-collector"))
    service = AlertService(site, store, records)
    sink.listen(service.notify)
    # the MQTT machines carry the load (Modbus machines are polled, not published)
    mqtt_machines = [eq for eq in site.equipment if eq.source.mqtt is not None]
    devices = MqttDevices(site, endpoint, mqtt_machines)
    stop = asyncio.Event()
    tasks = [asyncio.ensure_future(t(stop)) for t in (sink.run, collector.run, service.run)]
    devices.start()
    load = Load(site, devices, rate)
    publisher = threading.Thread(target=load.run, daemon=True)
    await asyncio.sleep(1.0)
    publisher.start()
    await asyncio.sleep(3.0)  # warm up

    def latest_fault() -> float | None:
        reading = store.latest([FAULTY]).get((FAULTY, "fault"))
        return None if reading is None else reading.value

    def live_ticket() -> dict[str, Any] | None:
        with records.engine.connect() as conn:
            row = (
                conn.execute(
                    sa.select(tickets).where(
                        tickets.c.equipment == FAULTY,
                        tickets.c.status == "open",
                        tickets.c.fault_active,
                    )
                )
                .mappings()
                .first()
            )
        return None if row is None else dict(row)

    def one_round() -> tuple[float, float]:
        t0 = load.set_fault(True)
        t_store = poll(lambda: latest_fault() == 1.0)
        t_ticket = poll(lambda: live_ticket() is not None)
        ticket = live_ticket()
        assert ticket is not None
        load.set_fault(False)
        poll(lambda: live_ticket() is None)
        config = ticket_policy(site)
        for action in ("ack", "resolve", "close"):
            now = datetime.now(UTC)
            if action == "close":  # closing needs a callback record
                record_callback(
                    records.engine, ticket["id"], "bench", now, True, "", "bench", now, config
                )
            transition(records.engine, ticket["id"], action, "bench", now, config)
        return t_store - t0, t_ticket - t0

    started, stored_before = time.perf_counter(), store_count(store)
    ingest: list[float] = []
    to_ticket: list[float] = []
    for i in range(rounds):
        a, b = await asyncio.to_thread(one_round)
        ingest.append(a)
        to_ticket.append(b)
        print(f"\r  round {i + 1}/{rounds}", end="", flush=True)
        await asyncio.sleep(0.3)  # the background load runs on between faults
    elapsed = time.perf_counter() - started
    stored_rate = (store_count(store) - stored_before) / elapsed
    print()
    load.stop.set()
    publisher.join()
    stop.set()
    await asyncio.gather(*tasks)
    devices.stop()
    store.close()
    records.close()
    if mosquitto is not None:
        mosquitto.stop()
    if embedded is not None:
        await embedded.stop()
    shutil.rmtree(work, ignore_errors=True)

    print(f"plantroom bench-alerts: demo site, {len(site.equipment)} machines, {broker} broker")
    print(f"  background load: {stored_rate:,.0f} readings/s stored over {elapsed:.0f} s")
    print(f"  {'':38} {'p50':>8} {'p99':>8} {'max':>8}")
    for name, values in (
        ("baseline: fault publish -> in store", ingest),
        ("fault publish -> ticket in records DB", to_ticket),
    ):
        ms = [v * 1000 for v in values]
        print(f"  {name:38} {statistics.median(ms):7.0f}ms {pct(ms, 0.99):7.0f}ms {max(ms):7.0f}ms")
    target = "met" if pct(to_ticket, 0.99) < 1.0 else "NOT met"
    print(f"  target p99 < 1 s: {target} ({rounds} faults)")


def store_count(store: SqliteTimeSeriesStore) -> int:
    # the store's own file: count of samples, read on a second connection
    import sqlite3

    with sqlite3.connect(store.path) as db:
        return int(db.execute("SELECT COUNT(*) FROM samples").fetchone()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--rate", type=float, default=2500, help="background readings/s")
    parser.add_argument("--broker", choices=["mosquitto", "embedded"], default="mosquitto")
    args = parser.parse_args()
    configure_logging("WARNING")
    logging.getLogger("plantroom").setLevel(logging.WARNING)
    asyncio.run(bench(args.rounds, args.rate, args.broker))


if __name__ == "__main__":
    main()
