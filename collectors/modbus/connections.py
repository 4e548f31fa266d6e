"""One pymodbus client and one lock per gateway, with timeouts, retries and reconnect backoff.

Several unit ids often sit behind one gateway (host:port, or one serial line); Modbus allows
one outstanding request per connection there, so every device on a gateway shares its
``Gateway`` and takes its lock per request. A failure comes out as exactly one of two errors:
``CommError`` (no usable answer: refused, timed out, connection closed) or
``ExceptionResponse`` (the device answered with a Modbus exception code).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException
from pymodbus.framer import FramerType

from core.site import ModbusSource, Table

EXCEPTION_NAMES = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "server device failure",
    5: "acknowledge",
    6: "server device busy",
    10: "gateway path unavailable",
    11: "gateway target device failed to respond",
}

GATEWAY_UNREACHABLE = {10, 11}


class CommError(Exception):
    """No usable answer from the gateway or device."""


class ExceptionResponse(Exception):
    """The device answered with a Modbus exception code."""

    def __init__(self, code: int) -> None:
        self.code = code
        super().__init__(f"exception {code} ({EXCEPTION_NAMES.get(code, 'unknown')})")


@dataclass(frozen=True, slots=True)
class GatewayKey:
    """What makes two sources share a connection."""

    framing: str
    where: str  # "host:port" or the serial port

    @classmethod
    def of(cls, source: ModbusSource) -> GatewayKey:
        if source.framing == "rtu":
            assert source.serial is not None  # the site loader requires it
            return cls("rtu", source.serial.port)
        return cls(source.framing, f"{source.host}:{source.port}")


@dataclass(frozen=True, slots=True)
class Backoff:
    """Reconnect delays: ``first`` seconds, doubling up to ``longest``."""

    first: float = 0.5
    longest: float = 30.0


DEFAULT_BACKOFF = Backoff()

Monotonic = Callable[[], float]


# function code of a read, per table: an answer with another code belongs to another request
READ_FUNCTION = {Table.COIL: 1, Table.DISCRETE_INPUT: 2, Table.HOLDING: 3, Table.INPUT: 4}


class Gateway:
    """A pymodbus client for one gateway; created unconnected, connects on first use.

    The connection is dropped and a fresh client made whenever its state is in doubt: a
    failed or timed-out connect, a connection closed under a read, an answer that does not
    fit the request, and a read left unanswered. The last matters twice over: a late answer
    on the old connection can never be taken for the answer to the next read (RTU frames
    carry no transaction id, and not every gateway echoes it faithfully), and a connection
    the gateway forgot without closing it (a reboot) is given up at once.
    """

    def __init__(
        self, source: ModbusSource, monotonic: Monotonic, backoff: Backoff = DEFAULT_BACKOFF
    ) -> None:
        self.key = GatewayKey.of(source)
        self.lock = asyncio.Lock()
        self._source = source
        self._monotonic = monotonic
        self._backoff = backoff
        self._delay = 0.0
        self._next_attempt = 0.0
        self._inflight: asyncio.Future[Any] | None = None
        # Our own timeout (per device) fires first; pymodbus's own is only a backstop, and
        # retries and reconnects are ours too, so that backoff is one policy in one place.
        self.client = self._make_client()
        self.connects = 0
        self.resets = 0

    def _make_client(self) -> AsyncModbusTcpClient | AsyncModbusSerialClient:
        source = self._source
        common = {
            "timeout": source.timeout.total_seconds() + 5.0,
            "retries": 0,
            "reconnect_delay": 0,
            "trace_connect": self._on_connect_change,
        }
        if source.framing == "rtu":
            serial = source.serial
            assert serial is not None
            return AsyncModbusSerialClient(
                serial.port,
                framer=FramerType.RTU,
                baudrate=serial.baudrate,
                parity=serial.parity,
                stopbits=serial.stopbits,
                bytesize=serial.bytesize,
                **common,  # type: ignore[arg-type]
            )
        framer = FramerType.RTU if source.framing == "rtu_over_tcp" else FramerType.SOCKET
        assert source.host is not None
        return AsyncModbusTcpClient(
            source.host,
            port=source.port,
            framer=framer,
            **common,  # type: ignore[arg-type]
        )

    def _on_connect_change(self, connected: bool) -> None:
        if not connected and self._inflight is not None and not self._inflight.done():
            self._inflight.cancel()

    def _usable(self) -> bool:
        """Connected, on a transport that is not closing (pymodbus can keep a closed one)."""
        if not self.client.connected:
            return False
        transport = getattr(self.client.ctx, "transport", None)
        return transport is not None and not transport.is_closing()

    def _reset(self) -> None:
        """Close the connection and start over with a new client on the next read."""
        ctx = self.client.ctx
        transport = getattr(ctx, "transport", None)
        self.client.close()
        if transport is not None:
            transport.close()  # close() is a no-op when pymodbus thinks it is closing already
        self.client = self._make_client()
        self.resets += 1

    async def _ensure_connected(self, timeout: float) -> None:
        if self._usable():
            return
        if self.client.connected:
            self._reset()  # the transport died under pymodbus without it noticing
        now = self._monotonic()
        if now < self._next_attempt:
            raise CommError(f"reconnecting to {self.key.where} in {self._next_attempt - now:.1f}s")
        attempt = asyncio.ensure_future(self.client.connect())
        try:
            done, _ = await asyncio.wait({attempt}, timeout=timeout)  # see _read_once
        finally:
            if not attempt.done():
                attempt.cancel()
                # let the cancellation land before the client is dropped, so that a
                # connection made in the meantime is not left open behind our back
                await asyncio.wait({attempt}, timeout=1.0)
        connected, reason = False, f"no connection within {timeout:g}s"
        if not done or attempt.cancelled():
            pass
        elif (err := attempt.exception()) is not None:
            if not isinstance(err, OSError | ModbusException):
                raise err
            reason = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
        else:
            connected = attempt.result()
            reason = "connection refused or unreachable"
        if not connected:
            self._reset()
            self._delay = min(self._backoff.longest, max(self._backoff.first, self._delay * 2))
            self._next_attempt = self._monotonic() + self._delay
            raise CommError(f"cannot connect to {self.key.where}: {reason}")
        self._delay = 0.0
        self.connects += 1

    async def read(
        self,
        table: Table,
        address: int,
        count: int,
        unit_id: int,
        timeout: float,
        retries: int,
    ) -> list[int] | list[bool]:
        """Read ``count`` registers (or bits) of ``table``; raise CommError or ExceptionResponse."""
        async with self.lock:
            attempt = 0
            while True:
                await self._ensure_connected(timeout)
                try:
                    return await self._read_once(table, address, count, unit_id, timeout)
                except CommError:
                    if attempt >= retries:
                        raise
                    attempt += 1

    async def _read_once(
        self, table: Table, address: int, count: int, unit_id: int, timeout: float
    ) -> list[int] | list[bool]:
        reader = {
            Table.COIL: self.client.read_coils,
            Table.DISCRETE_INPUT: self.client.read_discrete_inputs,
            Table.HOLDING: self.client.read_holding_registers,
            Table.INPUT: self.client.read_input_registers,
        }[table]
        request = asyncio.ensure_future(reader(address, count=count, device_id=unit_id))
        # A connection lost mid-read cancels the request (see _on_connect_change). The
        # request is awaited through asyncio.wait, never directly: on Python 3.11 a task
        # awaiting pymodbus's request can lose its own cancellation when the response lands
        # in the same loop turn (the asyncio.wait_for race inside pymodbus).
        self._inflight = request
        try:
            done, _ = await asyncio.wait({request}, timeout=timeout)
        finally:
            self._inflight = None
            if not request.done():
                request.cancel()
        if not done:
            self._reset()
            raise CommError(f"no answer from {self.key.where} unit {unit_id} within {timeout:g}s")
        if request.cancelled():
            self._reset()
            raise CommError(f"{self.key.where} closed the connection during a read")
        try:
            response = request.result()
        except ModbusException as err:
            self._reset()
            raise CommError(f"{self.key.where}: {err}") from err
        if response.isError():
            code = int(response.exception_code)
            if code in GATEWAY_UNREACHABLE:
                # the gateway answered for a device it cannot reach: a comms fault, not bad data
                raise CommError(f"{self.key.where} unit {unit_id}: {ExceptionResponse(code)}")
            raise ExceptionResponse(code)
        if response.function_code != READ_FUNCTION[table]:
            self._reset()
            raise CommError(
                f"{self.key.where} unit {unit_id}: answer with function code "
                f"{response.function_code} to a read of {table} (function {READ_FUNCTION[table]})"
            )
        if table.is_bit_table:
            bits = list(response.bits[:count])
            if len(bits) != count:
                self._reset()
                raise CommError(f"asked {count} bits, got {len(bits)}")
            return bits
        registers = list(response.registers)
        if len(registers) != count:
            self._reset()
            raise CommError(f"asked {count} registers, got {len(registers)}")
        return registers

    def close(self) -> None:
        self.client.close()


class Gateways:
    """The process's gateways, one per ``GatewayKey``."""

    def __init__(self, monotonic: Monotonic, backoff: Backoff = DEFAULT_BACKOFF) -> None:
        self._monotonic = monotonic
        self._backoff = backoff
        self._gateways: dict[GatewayKey, Gateway] = {}

    def for_source(self, source: ModbusSource) -> Gateway:
        key = GatewayKey.of(source)
        gateway = self._gateways.get(key)
        if gateway is None:
            gateway = Gateway(source, self._monotonic, self._backoff)
            self._gateways[key] = gateway
        return gateway

    def __len__(self) -> int:
        return len(self._gateways)

    def close(self) -> None:
        for gateway in self._gateways.values():
            gateway.close()
