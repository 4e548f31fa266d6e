"""The Modbus collector: poll every Modbus machine of the site at its own interval.

Each device has its own task, scheduled on the monotonic clock against fixed slots
(``start + k * poll_interval``) so it does not drift; a poll that overruns skips the slots it
missed instead of bunching up. Devices share a connection (and its lock) only when they share
a gateway, so a dead gateway delays nobody else.

Per poll: the device's coalesced requests are read and decoded. A request without a usable
answer makes every signal of the device ``comm_fault``; a Modbus exception response is
retried signal by signal, so only the signals at the offending addresses become ``invalid``
(and that request stays split from then on). Failures and recoveries are logged once.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from collections.abc import Set
from dataclasses import dataclass, field
from datetime import datetime

from collectors.modbus.connections import (
    DEFAULT_BACKOFF,
    Backoff,
    CommError,
    ExceptionResponse,
    Gateway,
    Gateways,
)
from collectors.modbus.plan import ReadRequest, plan_reads, split
from collectors.sink import ReadingSink
from core.catalogue import SignalSpec, load_catalogue
from core.clock import Clock, SystemClock
from core.logs import FailureTracker, event
from core.metrics import METRICS, Metrics
from core.modbus_codec import DecodeError, decode
from core.readings import Quality, Reading
from core.site import Equipment, ModbusSource, RegisterMap, Site

log = logging.getLogger("plantroom.collector.modbus")

_LATENESS_SAMPLES = 10_000


def next_slot(slot: float, interval: float, now: float) -> tuple[float, int]:
    """The first slot after ``slot`` that is not already past, and how many were skipped."""
    following = slot + interval
    if now <= following:
        return following, 0
    skipped = math.ceil((now - following) / interval)
    return following + skipped * interval, skipped


@dataclass
class DeviceStats:
    """What tests and the benchmark read about one device's polling."""

    polls: int = 0
    good_polls: int = 0
    comm_faults: int = 0
    skipped_slots: int = 0
    requests: int = 0
    registers: int = 0  # registers (or bits) read
    lateness: deque[float] = field(default_factory=lambda: deque(maxlen=_LATENESS_SAMPLES))


@dataclass
class _Device:
    eq: Equipment
    source: ModbusSource
    register_map: RegisterMap
    gateway: Gateway
    requests: list[ReadRequest]
    signal_specs: dict[str, SignalSpec]
    stats: DeviceStats = field(default_factory=DeviceStats)
    invalid: set[str] = field(default_factory=set)  # signals now invalid, to log recovery


class ModbusCollector:
    def __init__(
        self,
        site: Site,
        sink: ReadingSink,
        clock: Clock | None = None,
        metrics: Metrics = METRICS,
        backoff: Backoff = DEFAULT_BACKOFF,
        only: Set[str] | None = None,
    ) -> None:
        """``only``: the machines this process polls (see ``shards.assign``); None for all."""
        self.site = site
        self.sink = sink
        self.clock = clock or SystemClock()
        self.metrics = metrics
        self.gateways = Gateways(self.clock.monotonic, backoff)
        self._failures = FailureTracker(log)
        catalogue = load_catalogue()
        self.devices: dict[str, _Device] = {}
        for eq in site.equipment:
            source = eq.source.modbus
            if source is None or (only is not None and eq.id not in only):
                continue
            register_map = site.register_maps[source.map]
            kind = catalogue.kind(eq.kind)
            self.devices[eq.id] = _Device(
                eq=eq,
                source=source,
                register_map=register_map,
                gateway=self.gateways.for_source(source),
                requests=plan_reads(register_map.signals, source.max_gap),
                signal_specs={name: kind.signals[name] for name in register_map.signals},
            )

    def stats(self, equipment_id: str) -> DeviceStats:
        return self.devices[equipment_id].stats

    # ------------------------------------------------------------ one poll

    async def poll(self, device: _Device) -> list[Reading]:
        """Read and decode every signal of ``device`` once; returns what was submitted."""
        eq, source = device.eq, device.source
        timeout = source.timeout.total_seconds()
        values: dict[str, list[int] | list[bool]] = {}
        invalid: dict[str, str] = {}
        planned: list[ReadRequest] = []
        try:
            for request in device.requests:
                try:
                    data = await self._read(device, request, timeout)
                except ExceptionResponse as err:
                    if len(request.signals) == 1:
                        invalid[request.signals[0]] = f"{request.table} {request.address}: {err}"
                        planned.append(request)
                        continue
                    # find the offending addresses; keep this request split from now on
                    parts = split(request, device.register_map.signals)
                    planned += parts
                    for part in parts:
                        try:
                            values.update(
                                self._slice(device, part, await self._read(device, part, timeout))
                            )
                        except ExceptionResponse as part_err:
                            invalid[part.signals[0]] = f"{part.table} {part.address}: {part_err}"
                    continue
                planned.append(request)
                values.update(self._slice(device, request, data))
        except CommError as err:
            return self._comm_fault(device, str(err))
        if planned != device.requests:
            event(
                log,
                "split coalesced read",
                logging.INFO,
                equipment=eq.id,
                requests=len(planned),
                reason="exception response",
            )
            device.requests = planned
        return self._good(device, values, invalid)

    async def _read(
        self, device: _Device, request: ReadRequest, timeout: float
    ) -> list[int] | list[bool]:
        device.stats.requests += 1
        data = await device.gateway.read(
            request.table,
            request.address,
            request.count,
            device.source.unit_id,
            timeout,
            device.source.retries,
        )
        device.stats.registers += request.count
        return data

    def _slice(
        self, device: _Device, request: ReadRequest, data: list[int] | list[bool]
    ) -> dict[str, list[int] | list[bool]]:
        out: dict[str, list[int] | list[bool]] = {}
        for name in request.signals:
            out[name] = list(request.words_of(device.register_map.signals[name], data))
        return out

    def _comm_fault(self, device: _Device, reason: str) -> list[Reading]:
        eq = device.eq
        device.stats.comm_faults += 1
        self.metrics.inc(
            "plantroom_modbus_polls_total",
            equipment=eq.id,
            result="comm_fault",
            help="Modbus device polls by result",
        )
        self._failures.failed(f"modbus:{eq.id}", reason, unit_id=device.source.unit_id)
        now = self.clock.now()
        readings = [
            Reading(eq.id, name, now, None, Quality.COMM_FAULT, reason)
            for name in device.register_map.signals
        ]
        self.sink.submit(readings)
        return readings

    def _good(
        self, device: _Device, values: dict[str, list[int] | list[bool]], invalid: dict[str, str]
    ) -> list[Reading]:
        eq = device.eq
        now: datetime = self.clock.now()
        readings: list[Reading] = []
        for name, spec in device.register_map.signals.items():
            reason = invalid.get(name)
            if reason is None:
                try:
                    value = device.signal_specs[name].coerce(decode(spec, values[name]))
                except (DecodeError, ValueError) as err:
                    reason = f"{spec.table} {spec.address}: {err}"
                else:
                    readings.append(Reading(eq.id, name, now, value))
                    if name in device.invalid:
                        device.invalid.discard(name)
                        self._failures.recovered(f"modbus:{eq.id}:{name}")
                    continue
            readings.append(Reading(eq.id, name, now, None, Quality.INVALID, reason))
            device.invalid.add(name)
            self._failures.failed(f"modbus:{eq.id}:{name}", reason)
        device.stats.good_polls += 1
        result = "ok" if all(r.quality is Quality.GOOD for r in readings) else "partial"
        self.metrics.inc(
            "plantroom_modbus_polls_total",
            equipment=eq.id,
            result=result,
            help="Modbus device polls by result",
        )
        self._failures.recovered(f"modbus:{eq.id}")
        self.sink.submit(readings)
        return readings

    # ------------------------------------------------------------ scheduling

    async def _run_device(self, device: _Device, first_slot: float, stop: asyncio.Event) -> None:
        interval = device.source.poll_interval.total_seconds()
        slot = first_slot
        stats = device.stats
        # checking ``stop`` as well as being cancelled: a library may swallow a cancellation
        while not stop.is_set():
            delay = slot - self.clock.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            lateness = max(0.0, self.clock.monotonic() - slot)
            stats.lateness.append(lateness)
            self.metrics.set(
                "plantroom_modbus_poll_lateness_seconds",
                lateness,
                equipment=device.eq.id,
                help="How late the last poll started",
            )
            stats.polls += 1
            await self.poll(device)
            slot, skipped = next_slot(slot, interval, self.clock.monotonic())
            if skipped:
                stats.skipped_slots += skipped
                self.metrics.inc(
                    "plantroom_modbus_skipped_polls_total",
                    skipped,
                    equipment=device.eq.id,
                    help="Poll slots skipped because a poll overran",
                )

    async def run(self, stop: asyncio.Event) -> None:
        """Poll every Modbus device until ``stop`` is set."""
        if not self.devices:
            await stop.wait()
            return
        start = self.clock.monotonic()
        # spread first polls over each interval, so a thousand devices do not fire at once
        count = len(self.devices)
        tasks = []
        for index, device in enumerate(self.devices.values()):
            interval = device.source.poll_interval.total_seconds()
            first = start + interval * index / count
            tasks.append(asyncio.ensure_future(self._run_device(device, first, stop)))
        event(log, "polling", devices=count, gateways=len(self.gateways))
        stopping = asyncio.ensure_future(stop.wait())
        try:
            done, _ = await asyncio.wait([stopping, *tasks], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not stopping and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            stopping.cancel()
            self.gateways.close()
