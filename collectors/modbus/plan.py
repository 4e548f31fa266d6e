"""Which requests read a register map: coalesced into as few as the protocol allows.

Pure: a map in, a list of ``ReadRequest`` out. Signals of one table whose registers are
contiguous, or separated by at most ``max_gap`` unused registers, share a request, as long
as it stays within the protocol limits (125 registers or 2000 bits per read). For bit tables
the gap is counted in bits, ``max_gap * 16``, since one register's worth of bits costs the
same two bytes on the wire.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from core.site import RegisterSpec, Table

MAX_REGISTERS = 125  # Modbus application protocol: read holding/input registers
MAX_BITS = 2000  # read coils / discrete inputs


@dataclass(frozen=True, slots=True)
class ReadRequest:
    """One Modbus read: ``count`` registers (or bits) of ``table`` from ``address``."""

    table: Table
    address: int
    count: int
    signals: tuple[str, ...]

    @property
    def end(self) -> int:
        """One past the last register (or bit) read."""
        return self.address + self.count

    def words_of(self, spec: RegisterSpec, data: Sequence[int]) -> Sequence[int]:
        """The slice of a response that holds ``spec``'s registers (or its one bit)."""
        start = spec.address - self.address
        return data[start : start + spec.type.register_count]


def plan_reads(
    signals: Mapping[str, RegisterSpec],
    max_gap: int = 8,
    max_registers: int = MAX_REGISTERS,
    max_bits: int = MAX_BITS,
) -> list[ReadRequest]:
    """Coalesce the signals of a map into read requests, ordered by table and address."""
    if max_gap < 0 or max_registers < 1 or max_bits < 1:
        raise ValueError("max_gap must be >= 0 and the request limits >= 1")
    requests: list[ReadRequest] = []
    for table in Table:
        spans = sorted(
            (spec.address, spec.address + spec.type.register_count, name)
            for name, spec in signals.items()
            if spec.table is table
        )
        limit = max_bits if table.is_bit_table else max_registers
        gap = max_gap * 16 if table.is_bit_table else max_gap
        start = end = -1
        names: list[str] = []
        for first, stop, name in spans:
            if names and first - end <= gap and max(end, stop) - start <= limit:
                end = max(end, stop)
                names.append(name)
                continue
            if names:
                requests.append(ReadRequest(table, start, end - start, tuple(names)))
            start, end, names = first, stop, [name]
        if names:
            requests.append(ReadRequest(table, start, end - start, tuple(names)))
    return requests


def split(request: ReadRequest, signals: Mapping[str, RegisterSpec]) -> list[ReadRequest]:
    """One request per signal: how a request that got an exception response is retried,
    so only the signals at the offending addresses lose their value."""
    out: list[ReadRequest] = []
    for name in request.signals:
        spec = signals[name]
        out.append(ReadRequest(spec.table, spec.address, spec.type.register_count, (name,)))
    return out
