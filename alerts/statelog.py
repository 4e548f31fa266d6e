"""The state recorder: turns readings into logbook entries (设备运行记录).

Pump started/stopped, elevator in/out of service, faults, float switches, fire alarms (the
changes listed per kind in ``statelog.yaml``) become ``state`` entries; a machine whose data
goes stale or unreachable, and comes back, becomes ``comms`` entries. ``StateTracker`` is the
pure part: readings in, entries out. It starts from the store's latest values (``prime``), so
a restart logs what changed while it was down instead of forgetting it or logging it twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml
from sqlalchemy.exc import SQLAlchemyError

from core.logs import FailureTracker
from core.readings import Quality, Reading
from core.site import Site
from storage import RecordsDB, StoreError, TimeSeriesStore, logbook
from storage.logbook_query import StoredEntry, log_event, read_entry

log = logging.getLogger("plantroom.statelog")

_LOST = (Quality.STALE, Quality.COMM_FAULT)
COMMS_LOST = "通讯中断"
COMMS_RESTORED = "通讯恢复"


@dataclass(frozen=True, slots=True)
class Change:
    on: str
    off: str


@cache
def state_changes() -> dict[str, dict[str, Change]]:
    """kind -> signal -> the messages for its rising and falling edge."""
    text = resources.files("alerts").joinpath("statelog.yaml").read_text("utf-8")
    raw: dict[str, dict[str, list[str]]] = yaml.safe_load(text)
    return {
        kind: {signal: Change(on, off) for signal, (on, off) in signals.items()}
        for kind, signals in raw.items()
    }


class StateTracker:
    """Remembers each watched signal's last good value and each machine's comms state."""

    def __init__(self, site: Site) -> None:
        changes = state_changes()
        self._watched: dict[tuple[str, str], Change] = {
            (eq.id, signal): change
            for eq in site.equipment
            for signal, change in changes.get(eq.kind, {}).items()
        }
        self._machines = {eq.id for eq in site.equipment}
        self._values: dict[tuple[str, str], bool] = {}
        self._offline: dict[str, bool] = {}

    def prime(self, readings: Iterable[Reading]) -> None:
        """Take these (the store's latest) as the known state, logging nothing."""
        self.observe(readings)

    def observe(self, readings: Iterable[Reading]) -> list[logbook.LogEntry]:
        """The logbook entries these readings cause, in time order."""
        out: list[logbook.LogEntry] = []
        for r in sorted(readings, key=lambda r: r.ts):
            if r.equipment not in self._machines:
                continue
            out += self._comms(r)
            change = self._watched.get((r.equipment, r.signal))
            if change is None or r.quality is not Quality.GOOD or r.value is None:
                continue
            value = r.value != 0.0
            before = self._values.get((r.equipment, r.signal))
            self._values[(r.equipment, r.signal)] = value
            if before is not None and before != value:
                message = change.on if value else change.off
                data = {"signal": r.signal, "value": value}
                out.append(logbook.LogEntry(r.ts, r.equipment, "state", message, data=data))
        return out

    def _comms(self, r: Reading) -> list[logbook.LogEntry]:
        if r.quality is Quality.INVALID:
            return []  # one undecodable value is not a lost machine
        offline = r.quality in _LOST
        before = self._offline.get(r.equipment)
        self._offline[r.equipment] = offline
        if before is None or before == offline:
            return []
        if offline:
            data: dict[str, Any] = {"quality": r.quality.value, "reason": r.reason or ""}
            return [logbook.LogEntry(r.ts, r.equipment, "comms", COMMS_LOST, data=data)]
        return [logbook.LogEntry(r.ts, r.equipment, "comms", COMMS_RESTORED, data={})]


def transition_of(entry: logbook.LogEntry) -> tuple[str, str]:
    """The (subject, value) a state or comms entry changes: one entry per transition."""
    if entry.type == "comms":
        return "comms", "lost" if entry.message == COMMS_LOST else "restored"
    return str(entry.data["signal"]), "on" if entry.data["value"] else "off"


Publish = Callable[[dict[str, Any]], None]


class StateRecorder:
    """Feeds stored batches through a ``StateTracker`` and appends what it finds.

    ``observe`` is the sink listener (cheap, on the event loop); ``run`` writes the entries
    off the loop and announces each on the live stream as a ``log`` event.
    """

    def __init__(self, site: Site, records: RecordsDB, publish: Publish | None = None) -> None:
        self.site = site
        self.records = records
        self.publish = publish
        self.tracker = StateTracker(site)
        self._pending: deque[list[logbook.LogEntry]] = deque()
        self._wake = asyncio.Event()
        self._failures = FailureTracker(log)
        self._names = {eq.id: eq.name for eq in site.equipment}

    def observe(self, readings: Sequence[Reading]) -> None:
        entries = self.tracker.observe(readings)
        if entries:
            self._pending.append(entries)
            self._wake.set()

    async def follow(self, store: TimeSeriesStore, stop: asyncio.Event, every: float = 1.0) -> None:
        """Poll the store's latest values (when this process gets no stored batches, as in
        ``plantroom alerts``); a change and its reversal within one poll go unseen."""
        ids = [eq.id for eq in self.site.equipment]
        while not stop.is_set():
            try:
                latest = await asyncio.to_thread(store.latest, ids)
            except StoreError as err:
                self._failures.failed("timeseries-store", str(err))
            else:
                self._failures.recovered("timeseries-store")
                self.observe(list(latest.values()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)

    def _append(self, entries: list[logbook.LogEntry]) -> list[StoredEntry]:
        """Append each change not logged yet (another engine may have logged it first)."""
        with self.records.engine.begin() as conn:
            seqs = [logbook.append_transition(conn, e, *transition_of(e)) for e in entries]
            return [read_entry(conn, seq) for seq in seqs if seq is not None]

    async def run(self, stop: asyncio.Event) -> None:
        """Append entries as they come until ``stop``; a failing records DB is retried."""
        backoff = 0.5
        while True:
            if not self._pending:
                if stop.is_set():
                    return
                self._wake.clear()
                waiters = {
                    asyncio.ensure_future(self._wake.wait()),
                    asyncio.ensure_future(stop.wait()),
                }
                _done, rest = await asyncio.wait(waiters, return_when="FIRST_COMPLETED")
                for waiter in rest:
                    waiter.cancel()
                continue
            entries = self._pending[0]
            try:
                stored = await asyncio.to_thread(self._append, entries)
            except SQLAlchemyError as err:
                # kept at the head of the queue, so each machine's entries stay in order
                self._failures.failed("records-db", str(err), entries=len(entries))
                if stop.is_set():
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            self._pending.popleft()
            backoff = 0.5
            self._failures.recovered("records-db")
            self._announce(stored)

    def _announce(self, stored: list[StoredEntry]) -> None:
        if self.publish is None:
            return
        for s in stored:
            name = self._names.get(s.entry.equipment, s.entry.equipment)
            self.publish(log_event(s, name))
