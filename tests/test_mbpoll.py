"""Cross-check with mbpoll, an independent C Modbus client: the simulator serves the map's
raw registers, and the collector's decoded values agree with mbpoll's raw words and, where
mbpoll decodes a type itself (32-bit int and float, ABCD with -B and CDAB without), with
mbpoll's own values."""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path

import pytest

from collectors.modbus import ModbusCollector
from collectors.sink import ReadingSink
from core.modbus_codec import decode
from core.site import WordOrder
from simulators.modbus_server import ModbusDeviceServer
from storage import SqliteTimeSeriesStore, site_tags
from tests.servers.modbus import PUMP_VALUES, modbus_site
from tests.servers.ports import free_port

MBPOLL = shutil.which("mbpoll")
pytestmark = pytest.mark.skipif(
    MBPOLL is None, reason="mbpoll not installed (make test installs it)"
)
_LINE = re.compile(r"^\[(\d+)\]:\s+(\S+)\s*$", re.MULTILINE)


async def mbpoll(
    port: int, unit_id: int, kind: str, address: int, count: int, *extra: str
) -> dict[int, str]:
    """One mbpoll read (0-based references); returns reference -> printed value."""
    assert MBPOLL is not None
    process = await asyncio.create_subprocess_exec(
        MBPOLL, "-m", "tcp", "-a", str(unit_id), "-0", "-1", "-o", "5",
        "-t", kind, "-r", str(address), "-c", str(count), *extra,
        "-p", str(port), "127.0.0.1",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await process.communicate()
    text = out.decode()
    assert process.returncode == 0, text
    return {int(ref): value for ref, value in _LINE.findall(text)}


async def test_collector_decodes_what_mbpoll_reads(tmp_path: Path) -> None:
    port = free_port()
    orders = list(WordOrder)
    site = modbus_site(
        [
            {"id": f"pump-{o.lower()}", "port": port, "unit_id": i + 1, "map": f"vfd-{o}"}
            for i, o in enumerate(orders)
        ]
    )
    server = ModbusDeviceServer(
        "127.0.0.1", port, {i + 1: site.register_maps[f"vfd-{o}"] for i, o in enumerate(orders)}
    )
    await server.start()
    store = SqliteTimeSeriesStore(tmp_path / "ts.db", site_tags(site))
    collector = ModbusCollector(site, ReadingSink(store))
    try:
        for unit_id, order in enumerate(orders, start=1):
            server.set_values(unit_id, PUMP_VALUES)
            device = collector.devices[f"pump-{order.lower()}"]
            decoded = {r.signal: r.value for r in await collector.poll(device)}
            holding = await mbpoll(port, unit_id, "4:hex", 0, 7)
            inputs = await mbpoll(port, unit_id, "3:hex", 0, 14)
            words = {"holding": holding, "input": inputs}
            for name, spec in device.register_map.signals.items():
                if spec.table.is_bit_table:
                    kind = "0" if spec.table.value == "coil" else "1"
                    bits = await mbpoll(port, unit_id, kind, spec.address, 1)
                    assert float(bits[spec.address]) == decoded[name], name
                    continue
                raw = [
                    int(words[spec.table.value][spec.address + i], 16)
                    for i in range(spec.type.register_count)
                ]
                assert decode(spec, raw) == decoded[name], (order, name, raw)
            assert decoded["current_a"] == pytest.approx(PUMP_VALUES["current_a"])
            # mbpoll's own 32-bit decoding: big-endian words with -B, little-endian without
            if order in (WordOrder.ABCD, WordOrder.CDAB):
                swap = ["-B"] if order is WordOrder.ABCD else []
                floats = await mbpoll(port, unit_id, "3:float", 0, 1, *swap)
                assert float(floats[0]) == decoded["current_a"]
                ints = await mbpoll(port, unit_id, "4:int", 3, 1, *swap)
                assert float(ints[3]) == decoded["starts"]
    finally:
        collector.gateways.close()
        store.close()
        await server.stop()
