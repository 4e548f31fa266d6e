"""Capacity of one process running the collector and the alert engine (what ``plantroom run
--components collect,alerts`` runs), on SQLite: how many machines, each publishing 10 values
every 5 s, it sustains with fault → ticket p99 < 1 s and no growing backlog.

For each step a site of N MQTT pumps is generated. A publisher process sends every pump's
healthy values (the 8 of the alert rig plus ``current_a``/``frequency_hz`` variants: 10) once
every 5 s, spread evenly over the 5 s, through mosquitto. After a warm-up, one pump a second
trips (published from this process; the pumps that trip stop their healthy reports once warmed
up, as a tripped pump keeps reporting its fault) and we time the fault until its ticket is
readable in the records DB. "No growing backlog": the store must keep up with what is
offered, and the time for a fault to reach the store must not trend upwards (second half vs
first half).

    make bench-capacity      (or: python -m bench.capacity --machines 500,1000,2000,4000)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from alerts.runner import AlertService
from bench.rounds import load_average
from collectors.mqtt import MqttCollector, MqttCollectorSettings
from collectors.sink import ReadingSink
from core.endpoints import MqttEndpoint
from core.logs import configure_logging
from core.mqttclient import make_client
from core.site import Site, parse_site
from storage import RecordsDB, SqliteTimeSeriesStore, site_tags
from storage.tickets import tickets
from tests.servers.mosquitto import start_mosquitto

ROOT = Path(__file__).resolve().parent.parent
PERIOD_S = 5.0
HEALTHY = {
    "running": 1,
    "fault": 0,
    "outlet_pressure_mpa": 0.4,
    "current_a": 12.0,
    "auto_mode": 1,
    "starts": 100,
    "inspection_mode": 0,
    "frequency_hz": 45.0,
    "run_hours": 1000.0,
    "fault_code": 0,
}


def machines_site(count: int) -> Site:
    raw = {
        "site": {"id": "cap", "name": "capacity", "timezone": "Asia/Shanghai"},
        "buildings": [{"id": "b1", "name": "b1"}],
        "equipment": [
            {
                "id": f"pump-{i}",
                "kind": "pump",
                "name": f"pump {i}",
                "building": "b1",
                "source": {"mqtt": {"stale_after": "60s"}},
            }
            for i in range(count)
        ],
        # every trip a ticket of its own
        "alerts": {"reopen_window": "0s", "flapping": {"changes": 1000}},
    }
    return parse_site(raw, "bench capacity site", base=ROOT / "examples")


def topic(i: int) -> str:
    return f"plantroom/cap/b1/pump/pump-{i}/telemetry"


def publish_forever(url: str, count: int, reserved: int) -> None:
    """The background load: every pump's healthy values every PERIOD_S, evenly spread. The
    first ``reserved`` pumps, which will trip, fall silent after three periods: a tripped pump
    keeps reporting its fault, it does not report healthy a moment later."""
    endpoint = MqttEndpoint.parse(url)
    client = make_client(endpoint, "capacity-load", max_inflight=1000)
    client.connect(endpoint.host, endpoint.port)
    client.loop_start()
    started = time.perf_counter()
    sent = 0
    while True:
        due = int((time.perf_counter() - started) / PERIOD_S * count)
        while sent < due:
            i = sent % count
            sent += 1
            if i < reserved and time.perf_counter() - started > 3 * PERIOD_S:
                continue
            ts = int(time.time() * 1000)
            payload = json.dumps({"ts": ts, "values": HEALTHY})
            client.publish(topic(i), payload, qos=1)
        time.sleep(0.005)


def stored(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT COUNT(*) FROM samples").fetchone()[0])


async def step(count: int, faults: int, workdir: Path) -> dict[str, float]:
    site = machines_site(count)
    broker = start_mosquitto(workdir / "mosquitto")
    endpoint = MqttEndpoint.parse(broker.url)
    store = SqliteTimeSeriesStore(workdir / "ts.db", site_tags(site))
    records = RecordsDB(f"sqlite:///{workdir / 'records.db'}")
    sink = ReadingSink(store, records)
    collector = MqttCollector(site, sink, MqttCollectorSettings(endpoint, "capacity"))
    service = AlertService(site, store, records)
    sink.listen(service.notify)
    stop = asyncio.Event()
    tasks = [asyncio.ensure_future(t(stop)) for t in (sink.run, collector.run, service.run)]
    load = subprocess.Popen(
        [sys.executable, "-m", "bench.capacity", "--publish", broker.url, str(count), str(faults)]
    )
    faulter = make_client(endpoint, "capacity-faults")
    faulter.connect(endpoint.host, endpoint.port)
    faulter.loop_start()
    to_store: list[float] = []
    to_ticket: list[float] = []
    try:
        await asyncio.sleep(3 * PERIOD_S)  # every machine has published three times
        began, stored_before = time.perf_counter(), stored(workdir / "ts.db")
        for k in range(faults):
            eq = f"pump-{k}"
            values = dict(HEALTHY, fault=1, running=0)
            t0 = time.perf_counter()
            payload = json.dumps({"ts": int(time.time() * 1000), "values": values})
            faulter.publish(topic(int(eq.split("-")[1])), payload, qos=1)
            t_store = await poll(lambda eq=eq: _fault_of(store, eq) == 1.0)
            t_ticket = await poll(lambda eq=eq: _has_ticket(records, eq))
            to_store.append(t_store - t0)
            to_ticket.append(t_ticket - t0)
            await asyncio.sleep(max(0.0, 1.0 - (time.perf_counter() - t0)))
        elapsed = time.perf_counter() - began
        rate = (stored(workdir / "ts.db") - stored_before) / elapsed
    finally:
        load.terminate()
        load.wait(10)
        faulter.disconnect()
        faulter.loop_stop()
        stop.set()
        await asyncio.gather(*tasks)
        store.close()
        records.close()
        broker.stop()
    half = len(to_store) // 2
    return {
        "offered": count * len(HEALTHY) / PERIOD_S,
        "stored": rate,
        "store_p99": pct(to_store, 0.99),
        "ticket_p50": statistics.median(to_ticket),
        "ticket_p99": pct(to_ticket, 0.99),
        "store_first_half": statistics.median(to_store[:half]),
        "store_second_half": statistics.median(to_store[half:]),
    }


def _fault_of(store: SqliteTimeSeriesStore, eq: str) -> float | None:
    reading = store.latest([eq]).get((eq, "fault"))
    return None if reading is None else reading.value


def _has_ticket(records: RecordsDB, eq: str) -> bool:
    with records.engine.connect() as conn:
        row = conn.execute(sa.select(tickets.c.id).where(tickets.c.equipment == eq)).first()
    return row is not None


async def poll(check: object, timeout: float = 30.0) -> float:
    assert callable(check)
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if await asyncio.to_thread(check):
            return time.perf_counter()
        await asyncio.sleep(0.005)
    return float("inf")  # never: counts as a miss of the target


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--machines", default="500,1000,2000,4000,8000")
    parser.add_argument("--faults", type=int, default=30, help="faults per step, one a second")
    parser.add_argument("--publish", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.publish:
        publish_forever(args.publish[0], int(args.publish[1]), int(args.publish[2]))
        return
    configure_logging("WARNING")
    logging.getLogger("plantroom").setLevel(logging.ERROR)
    print(f"capacity: collector + alert engine in one process, SQLite; {load_average()}")
    print(
        f"{'machines':>9}{'offered/s':>11}{'stored/s':>10}{'store p99':>11}"
        f"{'ticket p50':>12}{'ticket p99':>12}{'store 1st/2nd half':>20}  verdict"
    )
    for count in (int(n) for n in args.machines.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            r = asyncio.run(step(count, args.faults, Path(tmp)))
        keeps_up = r["stored"] >= 0.95 * r["offered"] and r["store_second_half"] < max(
            0.5, 3 * r["store_first_half"]
        )
        ok = keeps_up and r["ticket_p99"] < 1.0
        print(
            f"{count:>9}{r['offered']:>11,.0f}{r['stored']:>10,.0f}"
            f"{r['store_p99'] * 1000:>9.0f}ms{r['ticket_p50'] * 1000:>10.0f}ms"
            f"{r['ticket_p99'] * 1000:>10.0f}ms"
            f"{r['store_first_half'] * 1000:>9.0f}/{r['store_second_half'] * 1000:.0f}ms"
            f"  {'sustained' if ok else 'NOT sustained'}  ({load_average()})",
            flush=True,
        )
        if not ok:
            break


if __name__ == "__main__":
    main()
