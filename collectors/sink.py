"""Where every collector's readings go: one task batches them into the time-series store.

Collectors call ``submit`` (from any thread) with readings and an optional callback that runs
once they are durable, which is how the MQTT collector acknowledges a message only after its
readings are stored. When the store fails and a ``DiskBuffer`` is given, readings go to the
buffer (durable, so they are acknowledged) and are replayed in order when the store is back.
When the buffer is full, or there is none, nothing is acknowledged: MQTT messages stay at the
broker, and the batch waits in memory. Memory is bounded by backpressure, never by dropping:
a thread that submits acknowledgeable readings (the MQTT client's) waits while more than
``max_pending`` readings are queued, so the broker holds the rest; the event loop's own
submitters (Modbus polls, stale marks) are never made to wait, and their backlog is logged.

Dead letters take their own, best-effort path (issue 11): a task of their own writes them to
the records DB, so readings never wait for them, and a records DB that is down or refuses one
costs only dead letters — held in a bounded queue, retried with backoff, the oldest dropped
(and counted) past ``max_letters``. The same task prunes dead letters older than
``letter_retention`` as the collector runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core.logs import FailureTracker, event
from core.metrics import METRICS, Metrics
from core.readings import Reading
from storage.buffer import BufferFull, DiskBuffer
from storage.records import DeadLetter, RecordsDB
from storage.timeseries import StoreError, TimeSeriesStore

log = logging.getLogger("plantroom.sink")

OnStored = Callable[[], None]

DEFAULT_LETTER_RETENTION = timedelta(days=7)
MAX_KEPT_LETTERS = 100_000  # rows kept in the records DB whatever their age


@dataclass(slots=True)
class _Pending:
    readings: list[Reading]
    callbacks: list[OnStored]


class ReadingSink:
    def __init__(
        self,
        store: TimeSeriesStore,
        records: RecordsDB | None = None,
        metrics: Metrics = METRICS,
        max_batch: int = 5000,
        max_pending: int = 200_000,
        linger: float = 0.01,
        buffer: DiskBuffer | None = None,
        letter_retention: timedelta = DEFAULT_LETTER_RETENTION,
        max_letters: int = 10_000,
    ) -> None:
        self.store = store
        self.records = records
        self.metrics = metrics
        self.max_batch = max_batch
        self.max_pending = max_pending
        # wait this long after the first reading of a batch so that batches grow under load
        self.linger = linger
        self.buffer = buffer
        self._replay_backoff = 0.5
        self._next_replay = 0.0
        self._replayed = 0  # since the buffer last was empty
        self._progress_at = 0.0  # loop time of the last progress line
        self.progress_every = 5.0  # seconds between "replaying buffer" lines
        self._lock = threading.Lock()
        self._space = threading.Condition(self._lock)
        self._loop_thread: int | None = None
        self._closing = False
        self._pending = _Pending([], [])
        # dead letters waiting for the records DB: bounded, so a flood of them or an outage
        # of the records DB costs the oldest of them, never memory or readings
        self._letters: deque[DeadLetter] = deque()
        self.max_letters = max_letters
        self.letter_retention = letter_retention
        self.prune_every = 600.0  # seconds between prunes of old dead letters
        self._letters_wake = asyncio.Event()
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._failures = FailureTracker(log)
        self._listeners: list[Callable[[Sequence[Reading]], None]] = []

    def listen(self, listener: Callable[[Sequence[Reading]], None]) -> None:
        """Call ``listener`` with every batch after it is stored (e.g. the alert engine)."""
        self._listeners.append(listener)

    def submit(self, readings: Sequence[Reading], on_stored: OnStored | None = None) -> None:
        """Queue readings for storage. Safe to call from any thread; see the module docstring
        for when it waits."""
        with self._space:
            if on_stored is not None and self._loop_thread not in (None, threading.get_ident()):
                while len(self._pending.readings) >= self.max_pending and not self._closing:
                    self._space.wait(timeout=1.0)
            was_empty = not (self._pending.readings or self._pending.callbacks)
            self._pending.readings.extend(readings)
            if on_stored is not None:
                self._pending.callbacks.append(on_stored)
            backlog = len(self._pending.readings)
        if backlog > self.max_pending:
            self._failures.failed(
                "sink-backlog", f"{backlog} readings waiting for the store", limit=self.max_pending
            )
        if was_empty:
            self._signal()

    def dead_letter(self, letter: DeadLetter) -> None:
        """Keep ``letter`` if the records DB takes it (best effort; never blocks, never fails
        the caller). Safe to call from any thread."""
        dropped = 0
        with self._lock:
            self._letters.append(letter)
            while len(self._letters) > self.max_letters:
                self._letters.popleft()
                dropped += 1
        if dropped:
            self.metrics.inc(
                "plantroom_dead_letters_dropped_total",
                dropped,
                help="Dead letters dropped because the records DB could not take them in time",
            )
        self._signal(self._letters_wake)

    def _signal(self, wake: asyncio.Event | None = None) -> None:
        loop = self._loop
        if loop is None:
            return
        # a closing loop refuses the call; run() flushes what is pending on its way out
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe((wake or self._wake).set)

    def _take(self) -> _Pending:
        with self._space:
            taken = self._pending
            self._pending = _Pending([], [])
            self._space.notify_all()
        if len(taken.readings) <= self.max_pending:
            self._failures.recovered("sink-backlog")
        return taken

    def _put_back(self, batch: _Pending) -> None:
        with self._lock:
            self._pending.readings[:0] = batch.readings
            self._pending.callbacks[:0] = batch.callbacks

    async def run(self, stop: asyncio.Event) -> None:
        """Write batches until ``stop`` is set, then flush what is left."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        letters = asyncio.ensure_future(self._keep_letters(stop))
        try:
            await self._run(stop)
        finally:
            with self._space:  # release any submitter still waiting for room
                self._closing = True
                self._space.notify_all()
            stop.set()
            await letters

    async def _run(self, stop: asyncio.Event) -> None:
        self._export_buffer_gauges()
        backoff = 0.2
        while True:
            if not self._has_pending():
                if self.buffer is not None and self.buffer.depth:
                    await self.replay()
                if stop.is_set():
                    return
                self._wake.clear()
                waiter = asyncio.ensure_future(self._wake.wait())
                stopper = asyncio.ensure_future(stop.wait())
                timeout = 0.25 if self.buffer is not None and self.buffer.depth else 1.0
                await asyncio.wait(
                    {waiter, stopper}, timeout=timeout, return_when="FIRST_COMPLETED"
                )
                waiter.cancel()
                stopper.cancel()
                if self.linger and not stop.is_set():
                    await asyncio.sleep(self.linger)
                continue
            if await self.flush():
                backoff = 0.2
            else:
                if stop.is_set():
                    # store still down at shutdown: unacknowledged messages stay at the broker
                    return
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    def _has_pending(self) -> bool:
        with self._lock:
            p = self._pending
            return bool(p.readings or p.callbacks)

    async def flush(self) -> bool:
        """Write everything pending now; False if the store refused (the batch is kept)."""
        batch = self._take()
        was_buffering = self.buffer is not None and self.buffer.depth > 0
        buffering = was_buffering
        if not buffering:
            try:
                for start in range(0, len(batch.readings), self.max_batch):
                    chunk = batch.readings[start : start + self.max_batch]
                    # on failure the whole batch is retried; writes are idempotent per timestamp
                    await asyncio.to_thread(self.store.write, chunk)
                self._failures.recovered("timeseries-store")
            except StoreError as err:
                self._failures.failed("timeseries-store", str(err))
                self.metrics.inc("plantroom_store_write_errors_total")
                if self.buffer is None:
                    self._put_back(batch)
                    return False
                buffering = True
        if was_buffering:
            await self.replay()  # make room, and keep order: older buffered readings go first
            if self.buffer is not None and self.buffer.depth == 0:
                self._put_back(batch)  # the store is back: write this batch directly
                return True
        if buffering and not await self._to_buffer(batch):
            return False
        if not buffering:
            self.metrics.inc(
                "plantroom_readings_stored_total",
                len(batch.readings),
                help="Readings written to the time-series store",
            )
        self._done(batch)
        return True

    async def _keep_letters(self, stop: asyncio.Event) -> None:
        """Write dead letters to the records DB and prune old ones until ``stop``, then make
        one last attempt. A failure here is logged once and retried with backoff; it never
        ends the task and never touches the readings."""
        loop = asyncio.get_running_loop()
        backoff = 0.5
        next_prune = loop.time()
        while not stop.is_set():
            if loop.time() >= next_prune:
                next_prune = loop.time() + self.prune_every
                await self.prune_letters()
            self._letters_wake.clear()  # letters that come while writing wake the next wait
            if await self.write_letters():
                backoff = 0.5
                await _first(stop, self._letters_wake, timeout=next_prune - loop.time())
            else:
                await _first(stop, timeout=backoff)
                backoff = min(backoff * 2, 30.0)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.write_letters(), 5.0)

    async def write_letters(self, chunk: int = 500) -> bool:
        """Write what dead letters are queued; False if the records DB refused (kept queued)."""
        if self.records is None:
            with self._lock:
                self._letters.clear()
            return True
        while True:
            with self._lock:
                taken = [self._letters.popleft() for _ in range(min(chunk, len(self._letters)))]
            if not taken:
                return True
            try:
                await asyncio.to_thread(self.records.add_dead_letters, taken)
            except Exception as err:  # any failure costs dead letters only, never the sink
                self._failures.failed("dead-letters", f"{type(err).__name__}: {err}")
                with self._lock:
                    self._letters.extendleft(reversed(taken))
                    while len(self._letters) > self.max_letters:
                        self._letters.popleft()
                return False
            self._failures.recovered("dead-letters")

    async def prune_letters(self) -> int:
        """Delete dead letters past their retention (and beyond ``MAX_KEPT_LETTERS`` rows)."""
        if self.records is None:
            return 0
        before = datetime.now(UTC) - self.letter_retention
        try:
            gone = await asyncio.to_thread(
                self.records.prune_dead_letters, before, MAX_KEPT_LETTERS
            )
        except Exception as err:
            self._failures.failed("dead-letter-retention", f"{type(err).__name__}: {err}")
            return 0
        self._failures.recovered("dead-letter-retention")
        if gone:
            event(log, "pruned dead letters", removed=gone, older_than=before.isoformat())
        return gone

    def _done(self, batch: _Pending) -> None:
        for callback in batch.callbacks:
            callback()
        for listener in self._listeners:
            listener(batch.readings)

    async def _to_buffer(self, batch: _Pending) -> bool:
        """Keep the batch on local disk behind what is already there; False if it cannot."""
        assert self.buffer is not None
        try:
            await asyncio.to_thread(self.buffer.append, batch.readings)
        except BufferFull as err:
            if self._failures.failed("local-buffer", str(err), policy="stop acknowledging"):
                self.metrics.inc("plantroom_buffer_full_total")
            self._put_back(batch)
            return False
        except StoreError as err:
            self._failures.failed("local-buffer", str(err))
            self._put_back(batch)
            return False
        self._failures.recovered("local-buffer")
        self.metrics.inc("plantroom_readings_buffered_total", len(batch.readings))
        self._export_buffer_gauges()
        return True

    async def replay(self, chunk: int = 5000, budget: int = 100_000) -> int:
        """Move buffered readings, oldest first, into the store; returns how many moved."""
        buffer = self.buffer
        if buffer is None or buffer.depth == 0:
            return 0
        loop = asyncio.get_running_loop()
        if loop.time() < self._next_replay:
            return 0
        moved = 0
        while buffer.depth and moved < budget:
            last_id, readings = await asyncio.to_thread(buffer.peek, chunk)
            if not readings:
                break
            try:
                await asyncio.to_thread(self.store.write, readings)
            except StoreError as err:
                self._failures.failed("timeseries-store", str(err))
                self._next_replay = loop.time() + self._replay_backoff
                self._replay_backoff = min(self._replay_backoff * 2, 5.0)
                break
            await asyncio.to_thread(buffer.drop, last_id)
            moved += len(readings)
            self._replayed += len(readings)
            self.metrics.inc("plantroom_readings_stored_total", len(readings))
            if buffer.depth and loop.time() - self._progress_at >= self.progress_every:
                self._progress_at = loop.time()
                event(log, "replaying buffer", replayed=self._replayed, left=buffer.depth)
        if moved:
            self._replay_backoff = 0.5
            if buffer.depth == 0:
                self._failures.recovered("timeseries-store", replayed=self._replayed)
                self._replayed = 0
        self._export_buffer_gauges()
        return moved

    def _export_buffer_gauges(self) -> None:
        if self.buffer is None:
            return
        self.metrics.set(
            "plantroom_buffer_depth",
            self.buffer.depth,
            help="Readings waiting in the local buffer for the store",
        )
        oldest = self.buffer.oldest()
        age = 0.0
        if oldest is not None:
            age = max(0.0, (datetime.now(UTC) - oldest).total_seconds())
        self.metrics.set("plantroom_buffer_oldest_age_seconds", age)


async def _first(*events: asyncio.Event, timeout: float) -> None:
    """Wait until one of ``events`` is set, or ``timeout`` seconds."""
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    await asyncio.wait(waiters, timeout=max(0.0, timeout), return_when="FIRST_COMPLETED")
    for waiter in waiters:
        waiter.cancel()
