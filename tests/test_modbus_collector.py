"""The Modbus collector against real pymodbus servers (``simulators.modbus_server``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from collectors.modbus import Backoff, CommError, ModbusCollector, next_slot
from collectors.sink import ReadingSink
from core.readings import Quality, Reading
from core.site import Site, Table, WordOrder
from simulators.modbus_server import ModbusDeviceServer
from storage import SqliteTimeSeriesStore, site_tags
from tests.servers.modbus import PUMP_VALUES, modbus_site
from tests.servers.ports import free_port

FAST = Backoff(first=0.1, longest=0.5)


async def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Poll ``condition`` until true; fail after a generous deadline (never a timing check)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


class Harness:
    """A collector, a real sink and SQLite store, and the servers it reads."""

    def __init__(self, site: Site, tmp_path: Path) -> None:
        self.site = site
        self.store = SqliteTimeSeriesStore(tmp_path / "ts.db", site_tags(site))
        self.sink = ReadingSink(self.store)
        self.collector = ModbusCollector(site, self.sink, backoff=FAST)
        self.stop = asyncio.Event()
        self.tasks: list[asyncio.Future[None]] = []

    def start(self) -> None:
        self.tasks = [
            asyncio.ensure_future(self.sink.run(self.stop)),
            asyncio.ensure_future(self.collector.run(self.stop)),
        ]

    async def close(self) -> None:
        self.stop.set()
        await asyncio.gather(*self.tasks)
        self.store.close()

    def latest(self, equipment: str) -> dict[str, Reading]:
        return {sig: r for (_eq, sig), r in self.store.latest([equipment]).items()}


@pytest.fixture
async def servers() -> AsyncIterator[Callable[..., Awaitable[ModbusDeviceServer]]]:
    started: list[ModbusDeviceServer] = []

    async def start(site: Site, port: int, framing: str = "tcp") -> ModbusDeviceServer:
        units = {}
        for eq in site.equipment:
            source = eq.source.modbus
            assert source is not None
            if source.port == port:
                units[source.unit_id] = site.register_maps[source.map]
        server = ModbusDeviceServer("127.0.0.1", port, units, framing=framing)  # type: ignore[arg-type]
        await server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        await server.stop()


def test_next_slot_keeps_the_grid_and_counts_skips() -> None:
    assert next_slot(10.0, 1.0, 10.3) == (11.0, 0)
    assert next_slot(10.0, 1.0, 11.0) == (11.0, 0)
    assert next_slot(10.0, 1.0, 12.5) == (13.0, 2)  # slots 11 and 12 were missed


@pytest.mark.parametrize("framing", ["tcp", "rtu_over_tcp"])
async def test_every_type_and_order_round_trips(
    framing: str, servers: Callable[..., Awaitable[ModbusDeviceServer]], tmp_path: Path
) -> None:
    port = free_port()
    # four unit ids behind one gateway, one per byte order: one connection, one lock
    site = modbus_site(
        [
            {
                "id": f"pump-{order.lower()}",
                "port": port,
                "unit_id": i + 1,
                "map": f"vfd-{order}",
                "framing": framing,
            }
            for i, order in enumerate(WordOrder)
        ]
    )
    server = await servers(site, port, framing)
    for unit_id in server.units:
        server.set_values(unit_id, PUMP_VALUES)
    harness = Harness(site, tmp_path)
    assert len(harness.collector.gateways) == 1
    for device in harness.collector.devices.values():
        readings = {r.signal: r for r in await harness.collector.poll(device)}
        assert {r.quality for r in readings.values()} == {Quality.GOOD}, readings
        for name, expected in PUMP_VALUES.items():
            assert readings[name].value == pytest.approx(float(expected), rel=1e-9), name
        # holding, input, coil and discrete input: one request each
        assert device.stats.requests == 4
    harness.store.close()


async def test_failing_devices_get_their_quality_and_do_not_hold_up_the_others(
    servers: Callable[..., Awaitable[ModbusDeviceServer]],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ports = {name: free_port() for name in ("healthy", "dead", "exceptions", "dropper")}
    site = modbus_site(
        [
            {"id": name, "port": port, "poll_interval": "100ms", "timeout": "300ms", "retries": 0}
            for name, port in ports.items()
        ]
    )
    running = {name: await servers(site, port) for name, port in ports.items()}
    for server in running.values():
        server.set_values(1, PUMP_VALUES)
    running["dead"].set_answering(False)
    running["exceptions"].fail_addresses(1, Table.HOLDING, [2])  # outlet_pressure_mpa
    running["dropper"].drop_connections(1)
    caplog.set_level(logging.INFO, logger="plantroom.collector.modbus")

    harness = Harness(site, tmp_path)
    stats = {name: harness.collector.stats(name) for name in ports}
    harness.start()
    try:
        await wait_for(
            lambda: (
                stats["dead"].comm_faults >= 4
                and stats["dropper"].comm_faults >= 4
                and stats["exceptions"].good_polls >= 4
                and stats["healthy"].polls >= 30
            ),
            "every device to have been polled a few times",
        )
        await harness.sink.flush()
        dead = harness.latest("dead")
        assert {r.quality for r in dead.values()} == {Quality.COMM_FAULT}
        assert all("no answer" in (r.reason or "") for r in dead.values())
        dropper = harness.latest("dropper")
        assert {r.quality for r in dropper.values()} == {Quality.COMM_FAULT}
        assert {r.value for r in dropper.values()} == {None}
        assert all("closed the connection" in (r.reason or "") for r in dropper.values())
        exceptions = harness.latest("exceptions")
        bad = exceptions.pop("outlet_pressure_mpa")
        assert bad.quality is Quality.INVALID
        assert "illegal data address" in (bad.reason or "")
        assert {r.quality for r in exceptions.values()} == {Quality.GOOD}
        assert exceptions["starts"].value == 123456  # its neighbour in the same request
        healthy = harness.latest("healthy")
        assert {r.quality for r in healthy.values()} == {Quality.GOOD}

        # the healthy device kept its interval: a dead poll takes 3 healthy intervals, so
        # had it waited on the others it would have skipped slots and polled far less
        # (waiting behind the dead one it would skip 3 slots of 4; allow a loaded machine some)
        assert stats["healthy"].skipped_slots <= stats["healthy"].polls // 4
        assert stats["healthy"].polls >= 2 * stats["dead"].polls
        assert stats["healthy"].comm_faults == 0

        # one failure line per failing device, however many polls failed
        failed = [r for r in caplog.records if r.getMessage() == "failed"]
        whats = [r.fields["what"] for r in failed]  # type: ignore[attr-defined]
        assert whats.count("modbus:dead") == 1
        assert whats.count("modbus:dropper") == 1
        assert whats.count("modbus:exceptions:outlet_pressure_mpa") == 1

        # recovery: the dead gateway answers again and the bad address is fixed, logged once
        running["dead"].set_answering(True)
        running["exceptions"].fail_addresses(1, Table.HOLDING, [])
        seen = stats["dead"].good_polls
        await wait_for(lambda: stats["dead"].good_polls >= seen + 3, "dead device to recover")
        recovered = [
            r
            for r in caplog.records
            if r.getMessage() == "recovered" and r.fields["what"] == "modbus:dead"  # type: ignore[attr-defined]
        ]
        assert len(recovered) == 1
        await wait_for(
            lambda: any(
                r.getMessage() == "recovered"
                and r.fields["what"] == "modbus:exceptions:outlet_pressure_mpa"  # type: ignore[attr-defined]
                for r in caplog.records
            ),
            "the fixed address to be read again",
        )
        await harness.sink.flush()
        assert {r.quality for r in harness.latest("dead").values()} == {Quality.GOOD}
    finally:
        await harness.close()


async def test_refused_connection_is_a_comm_fault_with_backoff(tmp_path: Path) -> None:
    port = free_port()  # nothing listens here
    site = modbus_site([{"id": "gone", "port": port, "timeout": "300ms"}])
    harness = Harness(site, tmp_path)
    device = harness.collector.devices["gone"]
    first = await harness.collector.poll(device)
    assert {r.quality for r in first} == {Quality.COMM_FAULT}
    assert "cannot connect" in (first[0].reason or "")
    # inside the backoff window the next poll fails fast without a new attempt
    second = await harness.collector.poll(device)
    assert "reconnecting" in (second[0].reason or "")
    harness.store.close()


async def test_values_that_fail_the_catalogue_are_invalid(
    servers: Callable[..., Awaitable[ModbusDeviceServer]], tmp_path: Path
) -> None:
    port = free_port()
    maps = {
        "scaled": {
            "signals": {
                # fault_code is an int signal: a scale that makes it fractional is refused
                "fault_code": {"table": "holding", "address": 0, "type": "uint16", "scale": 0.5},
                "current_a": {"table": "holding", "address": 1, "type": "float32"},
            }
        }
    }
    site = modbus_site([{"id": "p1", "port": port, "map": "scaled"}], maps)
    server = await servers(site, port)
    server.units[1].image[Table.HOLDING].update({0: 3, 1: 0x7FC0, 2: 0})  # 1.5 and NaN
    harness = Harness(site, tmp_path)
    readings = {r.signal: r for r in await harness.collector.poll(harness.collector.devices["p1"])}
    assert readings["fault_code"].quality is Quality.INVALID
    assert "expected an integer" in (readings["fault_code"].reason or "")
    assert readings["current_a"].quality is Quality.INVALID
    assert "not a number" in (readings["current_a"].reason or "")
    harness.store.close()


async def test_serial_rtu_settings_reach_pymodbus_and_read(
    servers: Callable[..., Awaitable[ModbusDeviceServer]], tmp_path: Path
) -> None:
    # a serial RTU line, here through pyserial's socket:// URL to an RTU-over-TCP server:
    # the same serial client code path as /dev/ttyUSB0, without a serial port
    port = free_port()
    served = modbus_site([{"id": "p1", "port": port, "map": "vfd-CDAB"}])
    server = await servers(served, port, "rtu_over_tcp")
    server.set_values(1, PUMP_VALUES)
    serial = {"port": f"socket://127.0.0.1:{port}", "baudrate": 19200, "parity": "E"}
    site = modbus_site(
        [{"id": "p1", "framing": "rtu", "host": None, "serial": serial, "map": "vfd-CDAB"}]
    )
    harness = Harness(site, tmp_path)
    device = harness.collector.devices["p1"]
    params = device.gateway.client.comm_params
    assert (params.host, params.baudrate, params.parity) == (serial["port"], 19200, "E")
    readings = {r.signal: r for r in await harness.collector.poll(device)}
    assert {r.quality for r in readings.values()} == {Quality.GOOD}
    assert readings["frequency_hz"].value == pytest.approx(PUMP_VALUES["frequency_hz"])
    harness.collector.gateways.close()
    harness.store.close()


async def test_unit_the_gateway_cannot_reach_is_a_comm_fault(
    servers: Callable[..., Awaitable[ModbusDeviceServer]], tmp_path: Path
) -> None:
    port = free_port()
    served = modbus_site([{"id": "p1", "port": port, "unit_id": 1}])
    server = await servers(served, port)
    server.set_values(1, PUMP_VALUES)
    site = modbus_site(
        [{"id": "p1", "port": port, "unit_id": 1}, {"id": "p9", "port": port, "unit_id": 9}]
    )
    harness = Harness(site, tmp_path)
    device = harness.collector.devices["p9"]
    for request in device.requests:  # each table, at any address, answers the same
        with pytest.raises(CommError, match="gateway target device failed to respond"):
            await device.gateway.read(request.table, request.address + 100, 3, 9, 1.0, 0)
    missing = await harness.collector.poll(device)
    assert {r.quality for r in missing} == {Quality.COMM_FAULT}
    assert "gateway target device failed to respond" in (missing[0].reason or "")
    present = await harness.collector.poll(harness.collector.devices["p1"])
    assert {r.quality for r in present} == {Quality.GOOD}
    harness.collector.gateways.close()
    harness.store.close()


@pytest.mark.parametrize("framing", ["tcp", "rtu_over_tcp"])
async def test_a_late_answer_is_never_taken_for_the_next_one(
    servers: Callable[..., Awaitable[ModbusDeviceServer]], tmp_path: Path, framing: str
) -> None:
    # an answer that lands after its read timed out looks like the answer to the next read:
    # RTU frames carry no transaction id, and a gateway may not echo it faithfully (pymodbus's
    # own server labels a late answer with the newest request's id); stored, it would be an
    # old value passed off as fresh
    port = free_port()
    site = modbus_site([{"id": "p1", "port": port, "framing": framing}])
    server = await servers(site, port, framing)
    image = server.units[1].image[Table.HOLDING]
    gateway = ModbusCollector(site, ReadingSink(SqliteTimeSeriesStore(tmp_path / "ts.db", {})))
    gateway = gateway.devices["p1"].gateway
    image.update({1: 111, 2: 222})
    assert await gateway.read(Table.HOLDING, 1, 1, 1, 1.0, 0) == [111]
    server.set_delay(0.4)
    with pytest.raises(CommError, match="no answer"):
        await gateway.read(Table.HOLDING, 1, 1, 1, 0.2, 0)  # register 1 is on its way, late
    answers: list[list[int] | list[bool] | str] = []
    for _ in range(3):  # the late answer lands while the first of these waits for its own
        try:
            answers.append(await gateway.read(Table.HOLDING, 2, 1, 1, 1.0, 0))
        except CommError as err:  # failing is allowed; a wrong value is not
            answers.append(str(err))
        server.set_delay(0.0)
    assert [111] not in answers, answers
    assert answers[-1] == [222]
    gateway.close()


async def test_a_connection_that_went_dead_silently_is_replaced(
    servers: Callable[..., Awaitable[ModbusDeviceServer]], tmp_path: Path
) -> None:
    # a gateway that reboots forgets its connections without closing them: the collector's
    # socket stays open and swallows requests until it gives the connection up
    port = free_port()
    site = modbus_site([{"id": "p1", "port": port, "timeout": "200ms", "retries": 0}])
    server = await servers(site, port)
    server.set_values(1, PUMP_VALUES)
    harness = Harness(site, tmp_path)
    device = harness.collector.devices["p1"]
    qualities = [{r.quality for r in await harness.collector.poll(device)}]
    server.stall_connections()
    for _ in range(4):
        qualities.append({r.quality for r in await harness.collector.poll(device)})
    assert qualities[0] == {Quality.GOOD}
    assert qualities[1] == {Quality.COMM_FAULT}
    assert qualities[-1] == {Quality.GOOD}, qualities
    assert device.gateway.connects == 2
    harness.collector.gateways.close()
    harness.store.close()
