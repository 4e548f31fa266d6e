"""Modbus benchmark (``make bench-modbus``): the collector beside a bare pymodbus loop.

In one run:
1. Throughput: register reads per second of bare pymodbus client loops (one connection per
   device, reading the same registers back to back) and of the plantroom collector polling
   the same simulated devices as fast as it can (plan, read, decode, readings to the sink).
2. Lateness: how late polls start (p50/p99/max) with ``--devices`` devices at a 1 s
   interval, once without and once with one dead device (a gateway that accepts the
   connection and never answers), plus slots skipped and polls per healthy device.

The simulated devices run in a child process, so the collector's event loop is measured
alone, as it would be against real devices. The sink counts readings instead of storing
them: this measures Modbus collection, not the time-series store.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TypeVar

from pymodbus.client import AsyncModbusTcpClient

from collectors.modbus import DeviceStats, ModbusCollector
from collectors.sink import ReadingSink
from core.logs import configure_logging
from core.readings import Reading
from core.site import RegisterMap, Site, load_site, parse_site
from simulators.modbus_server import ModbusDeviceServer
from storage import SqliteTimeSeriesStore

ROOT = Path(__file__).resolve().parent.parent
MAP_NAME = "pump-vfd"


def _pump_map() -> RegisterMap:
    return load_site(ROOT / "examples" / "site.yaml").register_maps[MAP_NAME]


# ---------------------------------------------------------------- device process


async def _serve(count: int, conn: Connection) -> None:
    register_map = _pump_map()
    servers = [ModbusDeviceServer("127.0.0.1", 0, {1: register_map}) for _ in range(count)]
    ports = []
    for server in servers:
        await server.start()
        server.set_values(1, {"running": True, "frequency_hz": 50.0, "current_a": 14.2})
        server.set_values(1, {"outlet_pressure_mpa": 0.42, "run_hours": 1234.5, "starts": 77})
        ports.append(server.port)
    conn.send(ports)
    await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # wait for "stop"
    for server in servers:
        await server.stop()


def _device_process(count: int, conn: Connection) -> None:
    asyncio.run(_serve(count, conn))


class Devices:
    """``count`` simulated pump VFDs in a child process."""

    def __init__(self, count: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_device_process, args=(count, child), daemon=True)
        self._process.start()
        if not self._conn.poll(120):
            self._process.terminate()
            raise RuntimeError("the simulated devices did not start (see the error above)")
        self.ports: list[int] = self._conn.recv()

    def stop(self) -> None:
        self._conn.send("stop")
        self._process.join(10)
        if self._process.is_alive():
            self._process.terminate()


# ---------------------------------------------------------------- helpers


class CountingSink(ReadingSink):
    """Counts readings; storage is not what this benchmark measures."""

    def __init__(self, store: SqliteTimeSeriesStore) -> None:
        super().__init__(store)
        self.readings = 0

    def submit(self, readings: Sequence[Reading], on_stored: Any = None) -> None:
        self.readings += len(readings)


def _site(ports: Sequence[int], interval: str, dead_port: int | None = None) -> Site:
    register_map = _pump_map()
    equipment = [
        {"id": f"pump-{i}", "kind": "pump", "name": f"泵{i}", "building": "b1",
         "source": {"modbus": {"host": "127.0.0.1", "port": port, "map": MAP_NAME,
                               "poll_interval": interval, "timeout": "1s", "retries": 0}}}
        for i, port in enumerate(ports)
    ]  # fmt: skip
    if dead_port is not None:
        equipment.append(
            {"id": "pump-dead", "kind": "pump", "name": "死泵", "building": "b1",
             "source": {"modbus": {"host": "127.0.0.1", "port": dead_port, "map": MAP_NAME,
                                   "poll_interval": interval, "timeout": "1s", "retries": 1}}}
        )  # fmt: skip
    return parse_site(
        {
            "site": {"id": "bench", "name": "bench"},
            "buildings": [{"id": "b1", "name": "b1"}],
            "equipment": equipment,
            "register_maps": {MAP_NAME: register_map.model_dump(mode="json")},
        }
    )


class HungGateway:
    """Accepts connections, reads requests, never answers."""

    def __init__(self) -> None:
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._swallow, "127.0.0.1", 0)
        self.port = int(self.server.sockets[0].getsockname()[1])

    async def _swallow(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        while await reader.read(1024):
            pass
        writer.close()

    async def stop(self) -> None:
        for writer in self.writers:
            writer.close()
        await asyncio.sleep(0.2)  # let the handlers see end-of-stream and finish
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


def _pct(samples: list[float], q: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# ---------------------------------------------------------------- phases


async def bare_loop(ports: Sequence[int], seconds: float, count: int) -> float:
    """Registers read per second by back-to-back reads, one client per device."""
    clients = [AsyncModbusTcpClient("127.0.0.1", port=p, timeout=2, retries=0) for p in ports]
    for client in clients:
        await client.connect()
    done = 0
    deadline = time.monotonic() + seconds

    async def loop(client: AsyncModbusTcpClient) -> None:
        nonlocal done
        while time.monotonic() < deadline:
            response = await client.read_holding_registers(0, count=count, device_id=1)
            assert not response.isError()
            done += count

    started = time.monotonic()
    await asyncio.gather(*(loop(c) for c in clients))
    elapsed = time.monotonic() - started
    for client in clients:
        client.close()
    return done / elapsed


async def collector_polls(
    site: Site, seconds: float, tmp: Path
) -> tuple[list[DeviceStats], float, int]:
    """Back-to-back polls of every device, like the bare loops: plan, read, decode, readings
    to the sink. (No interval: the scheduler's own cost is what the lateness runs measure.)"""
    store = SqliteTimeSeriesStore(tmp / f"ts-{time.monotonic_ns()}.db")
    sink = CountingSink(store)
    collector = ModbusCollector(site, sink)
    deadline = time.monotonic() + seconds

    async def loop(device: Any) -> None:
        while time.monotonic() < deadline:
            await collector.poll(device)

    started = time.monotonic()
    await asyncio.gather(*(loop(d) for d in collector.devices.values()))
    elapsed = time.monotonic() - started
    collector.gateways.close()
    store.close()
    stats = [collector.stats(eq) for eq in collector.devices]
    return stats, elapsed, sink.readings


async def collector_run(
    site: Site, seconds: float, tmp: Path
) -> tuple[ModbusCollector, CountingSink, float]:
    store = SqliteTimeSeriesStore(tmp / f"ts-{time.monotonic_ns()}.db")
    sink = CountingSink(store)
    collector = ModbusCollector(site, sink)
    stop = asyncio.Event()
    task = asyncio.ensure_future(collector.run(stop))
    started = time.monotonic()
    await asyncio.sleep(seconds)
    stop.set()
    await task
    elapsed = time.monotonic() - started
    store.close()
    return collector, sink, elapsed


T = TypeVar("T")


async def _within(phase: Awaitable[T], limit: float = 120.0) -> T:
    """A phase that hangs fails the benchmark instead of hanging it."""
    return await asyncio.wait_for(phase, limit)


def _progress(what: str) -> None:
    print(f"  ... {what}", file=sys.stderr, flush=True)


def _loadavg() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f} (1 min), {five:.2f} (5 min)"


async def main(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-modbus-"))
    print(f"machine: {os.cpu_count()} cores, load average before: {_loadavg()}")
    requests_per_poll = None

    devices = Devices(args.throughput_devices)
    try:
        registers = 14  # the pump map's holding registers 0-13, one coalesced request
        _progress("bare pymodbus loops")
        bare = await _within(bare_loop(devices.ports, args.throughput_seconds, registers))
        _progress("collector throughput")
        site = _site(devices.ports, "1s")
        stats, elapsed, readings = await _within(
            collector_polls(site, args.throughput_seconds, tmp)
        )
        ours = sum(s.registers for s in stats) / elapsed
        polls = sum(s.good_polls + s.comm_faults for s in stats)
        requests_per_poll = sum(s.requests for s in stats) / max(1, polls)
        readings_rate = readings / elapsed
    finally:
        devices.stop()

    devices = Devices(args.devices)
    hung = HungGateway()
    await hung.start()
    dead_port = hung.port
    rows = []
    try:
        for label, dead in (("without dead device", None), ("with one dead device", dead_port)):
            _progress(f"lateness {label}")
            site = _site(devices.ports, "1s", dead)
            collector, _sink, elapsed = await _within(collector_run(site, args.seconds, tmp))
            healthy = [collector.stats(eq) for eq in collector.devices if eq != "pump-dead"]
            lateness = [x for s in healthy for x in s.lateness]
            polls = [s.polls for s in healthy]
            dead_stats = collector.stats("pump-dead") if dead else None
            rows.append(
                (
                    label,
                    _pct(lateness, 0.5) * 1000,
                    _pct(lateness, 0.99) * 1000,
                    max(lateness) * 1000,
                    sum(s.skipped_slots for s in healthy),
                    statistics.mean(polls),
                    elapsed,
                    sum(s.comm_faults for s in healthy),
                    dead_stats.comm_faults if dead_stats else 0,
                )
            )
    finally:
        await hung.stop()
        devices.stop()

    print()
    print(f"Throughput, {args.throughput_devices} devices, {args.throughput_seconds:g} s each, "
          f"{registers} holding registers per device")  # fmt: skip
    print(f"  {'':34}{'registers/s':>14}")
    print(f"  {'bare pymodbus client loops':34}{bare:>14,.0f}")
    print(f"  {'plantroom collector':34}{ours:>14,.0f}   ({ours / bare:.0%} of bare; "
          f"{requests_per_poll:.2f} requests/poll, {readings_rate:,.0f} readings/s)")  # fmt: skip
    print()
    print(f"Lateness of poll starts, {args.devices} devices at 1 s, {args.seconds:g} s per run")
    header = f"  {'':24}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'skipped':>9}"
    print(header + f"{'polls/dev':>11}{'faults':>8}{'dead faults':>13}")
    print("  (healthy devices only; polls/dev = mean polls per device / seconds run;")
    print("   faults = comm faults of healthy devices; dead faults = failed polls of the dead one)")
    for label, p50, p99, worst, skipped, mean_polls, elapsed, faults, dead_faults in rows:
        print(
            f"  {label:24}{p50:>9.2f}{p99:>9.2f}{worst:>9.2f}{skipped:>9}"
            f"{mean_polls:>7.1f}/{elapsed:<4.1f}{faults:>7}{dead_faults:>13}"
        )
    print(f"\nload average after: {_loadavg()}")


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--throughput-devices", type=int, default=20)
    parser.add_argument("--throughput-seconds", type=float, default=8.0)
    configure_logging("WARNING")
    asyncio.run(main(parser.parse_args()))


if __name__ == "__main__":
    cli()
