"""A Modbus gateway serving register maps: pymodbus's server with ``SimDevice`` blocks.

One ``ModbusDeviceServer`` is one gateway (host, port, framing) with one or more unit ids,
each described by a ``RegisterMap``. Values are set by signal name and encoded with
``core.modbus_codec``, the same code the collector decodes with, so any map is served exactly
as it is read. Every table's block spans the map's lowest to highest address, so reads that
skip over unused registers (as the collector's coalesced reads do) get zeros there.

For tests and the benchmark the gateway can misbehave: stop answering (``set_answering``),
answer selected addresses with an exception response (``fail_addresses``), close the
connection when a unit is read (``drop_connections``), answer late (``set_delay``) and let
its open connections go dead without closing them (``stall_connections``).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pymodbus.constants import ExcCodes
from pymodbus.exceptions import NoSuchIdException
from pymodbus.framer import FramerType
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from core.logs import event
from core.modbus_codec import encode
from core.site import RegisterMap, RegisterType, Table

log = logging.getLogger("plantroom.simulator.modbus")

Framing = Literal["tcp", "rtu_over_tcp"]
_FRAMERS: dict[str, FramerType] = {"tcp": FramerType.SOCKET, "rtu_over_tcp": FramerType.RTU}
_TABLE_BY_FUNCTION = {
    1: Table.COIL,
    5: Table.COIL,
    15: Table.COIL,
    2: Table.DISCRETE_INPUT,
    3: Table.HOLDING,
    6: Table.HOLDING,
    16: Table.HOLDING,
    22: Table.HOLDING,
    23: Table.HOLDING,
    4: Table.INPUT,
}
_BLOCK_ORDER = (Table.COIL, Table.DISCRETE_INPUT, Table.HOLDING, Table.INPUT)


class _Unit:
    """One unit id's register image: table -> address -> word (or 0/1 for bit tables)."""

    def __init__(self, register_map: RegisterMap) -> None:
        self.map = register_map
        self.image: dict[Table, dict[int, int]] = {table: {} for table in Table}
        self.bounds: dict[Table, tuple[int, int]] = {}
        for spec in register_map.signals.values():
            low = spec.address
            high = spec.address + spec.type.register_count - 1
            old = self.bounds.get(spec.table, (low, high))
            self.bounds[spec.table] = (min(old[0], low), max(old[1], high))
        self.failing: dict[Table, set[int]] = {table: set() for table in Table}

    def sim_device(self, unit_id: int, action: object) -> SimDevice:
        blocks: list[list[SimData]] = []
        for table in _BLOCK_ORDER:
            low, high = self.bounds.get(table, (0, 0))
            if table.is_bit_table:
                blocks.append(
                    [SimData(low, values=[False] * (high - low + 1), datatype=DataType.BITS)]
                )
            else:
                blocks.append([SimData(low, count=high - low + 1, datatype=DataType.REGISTERS)])
        return SimDevice(unit_id, simdata=tuple(blocks), action=action)  # type: ignore[arg-type]

    def set_values(self, values: Mapping[str, float | int | bool]) -> None:
        for name, value in values.items():
            spec = self.map.signals.get(name)
            if spec is None:
                raise KeyError(f"register map has no signal {name!r}")
            table = self.image[spec.table]
            current = [table.get(spec.address, 0)] if spec.type is RegisterType.BIT else []
            for i, word in enumerate(encode(spec, value, current)):
                table[spec.address + i] = word

    def covers(self, table: Table, first: int, last: int) -> bool:
        bounds = self.bounds.get(table)
        return bounds is not None and bounds[0] <= first and last <= bounds[1]


class ModbusDeviceServer:
    """A simulated gateway: ``devices`` maps unit id to its register map.

    ``port=0`` lets the system pick a free port; ``port`` holds it once started.
    """

    def __init__(
        self,
        host: str,
        port: int,
        devices: dict[int, RegisterMap],
        framing: Framing = "tcp",
    ) -> None:
        if framing not in _FRAMERS:
            raise ValueError(f"framing {framing!r} is not served (use tcp or rtu_over_tcp)")
        if not devices:
            raise ValueError("a gateway needs at least one unit id")
        self.host = host
        self.port = port
        self.framing = framing
        self.units = {unit_id: _Unit(register_map) for unit_id, register_map in devices.items()}
        self._answering = asyncio.Event()
        self._answering.set()
        self._dropping: set[int] = set()
        self._silent_units: set[int] = set()
        self._delay = 0.0
        self._server: ModbusTcpServer | None = None
        self.requests = 0

    async def start(self) -> None:
        """Listen on (host, port); returns once the socket accepts connections."""
        sim_devices = [
            unit.sim_device(unit_id, functools.partial(self._respond, unit_id))
            for unit_id, unit in self.units.items()
        ]
        if 0 not in self.units:
            # any other unit id: answer as a gateway whose target does not respond
            sim_devices.append(
                SimDevice(
                    0,
                    simdata=[SimData(0, count=65536, datatype=DataType.REGISTERS)],
                    action=self._no_such_unit,
                )
            )
        self._server = ModbusTcpServer(
            sim_devices,
            framer=_FRAMERS[self.framing],
            address=(self.host, self.port),
            ignore_missing_devices=True,
        )
        await self._server.serve_forever(background=True)
        if self.port == 0:  # the system picked a free port: report it
            listener: Any = self._server.transport  # an asyncio.Server while listening
            self.port = int(listener.sockets[0].getsockname()[1])
        event(log, "serving", host=self.host, port=self.port, units=len(self.units))

    async def stop(self) -> None:
        self._answering.set()  # release requests held by a hung gateway
        if self._server is not None:
            await self._server.shutdown()  # type: ignore[no-untyped-call]
            self._server = None

    def set_values(self, unit_id: int, values: Mapping[str, float | int | bool]) -> None:
        """Set signals of ``unit_id`` by name, encoded through its map (scale, type, order)."""
        self.units[unit_id].set_values(values)

    def set_answering(self, answering: bool) -> None:
        """False: keep accepting connections and requests but never answer (a hung gateway)."""
        if answering:
            self._answering.set()
        else:
            self._answering.clear()

    def set_unit_answering(self, unit_id: int, answering: bool) -> None:
        """False: this unit alone is dead while the gateway and its other units carry on.
        A Modbus TCP gateway then answers 0x0B (target failed to respond); a transparent
        RTU-over-TCP converter forwards nothing, so the client times out."""
        if answering:
            self._silent_units.discard(unit_id)
        else:
            self._silent_units.add(unit_id)

    def set_delay(self, seconds: float) -> None:
        """Answer every request ``seconds`` late, with the values at the time it arrived (a
        congested RS-485 line, a slow device)."""
        self._delay = seconds

    def stall_connections(self) -> None:
        """The connections open now go dead without a word (the gateway rebooted and forgot
        them; no FIN, no RST): requests on them are never read. New connections are served."""
        if self._server is not None:
            for connection in self._server.active_connections.values():
                transport: Any = connection.transport
                if transport is not None:
                    transport.pause_reading()

    def fail_addresses(self, unit_id: int, table: Table, addresses: Iterable[int]) -> None:
        """Answer reads touching these addresses with exception 2 (illegal data address)."""
        self.units[unit_id].failing[table] = set(addresses)

    def drop_connections(self, unit_id: int, dropping: bool = True) -> None:
        """Close the client's connection whenever ``unit_id`` is read, instead of answering."""
        if dropping:
            self._dropping.add(unit_id)
        else:
            self._dropping.discard(unit_id)

    async def _no_such_unit(self, *_request: object) -> ExcCodes:
        self.requests += 1
        return ExcCodes.GATEWAY_NO_RESPONSE

    async def _respond(self, unit_id: int, *request: Any) -> ExcCodes | None:
        """Called by pymodbus for every request: the answer, ``set_delay`` seconds late."""
        answer = await self._action(unit_id, *request)
        if self._delay:
            await asyncio.sleep(self._delay)
        return answer

    async def _action(
        self,
        unit_id: int,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        """Refresh the block pymodbus answers from with our image (or fail as told)."""
        self.requests += 1
        if unit_id in self._silent_units:
            if self.framing == "tcp":
                return ExcCodes.GATEWAY_NO_RESPONSE
            # pymodbus sends nothing for a unit it does not have (ignore_missing_devices)
            raise NoSuchIdException(f"unit {unit_id} is silent")
        if not self._answering.is_set():
            await self._answering.wait()
            # a hung gateway never answers what it held: pymodbus sends nothing for this
            raise NoSuchIdException(f"unit {unit_id}: request held while the gateway hung")
        if unit_id in self._dropping and self._server is not None:
            for connection in list(self._server.active_connections.values()):
                connection.close()
            raise NoSuchIdException(f"unit {unit_id}: connection dropped")  # nothing to send
        unit = self.units[unit_id]
        table = _TABLE_BY_FUNCTION[function_code]
        if table.is_bit_table:
            # pymodbus hands bit tables over as packed 16-bit words; ``count`` is in words
            return self._bits(unit, table, start_address, address, count, registers, set_values)
        last = address + count - 1
        if not unit.covers(table, address, last) or unit.failing[table].intersection(
            range(address, last + 1)
        ):
            return ExcCodes.ILLEGAL_ADDRESS
        image = unit.image[table]
        if set_values:
            for i, word in enumerate(set_values):
                image[address + i] = int(word)
        for i in range(count):
            registers[address - start_address + i] = image.get(address + i, 0)
        return None

    def _bits(
        self,
        unit: _Unit,
        table: Table,
        start_word: int,
        address: int,
        words: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        bounds = unit.bounds.get(table)
        if bounds is None or address < bounds[0] or address > bounds[1]:
            return ExcCodes.ILLEGAL_ADDRESS
        image = unit.image[table]
        if set_values:
            for i, bit in enumerate(set_values):
                image[address + i] = 1 if bit else 0
        if address in unit.failing[table]:
            return ExcCodes.ILLEGAL_ADDRESS
        first_word = address // 16 - start_word
        for k in range(first_word, first_word + words):
            base = (start_word + k) * 16
            registers[k] = sum(image.get(base + j, 0) << j for j in range(16))
        return None


__all__ = ["ModbusDeviceServer"]
