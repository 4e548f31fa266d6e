"""A tiny in-process event bus for the live alarm stream (DESIGN §9 ``GET /stream``).

Publishers never block: each subscriber has a bounded queue, and a subscriber that falls
behind loses its oldest events (and is told how many) rather than slowing the alert engine.
Events are JSON-ready dicts with a ``type`` of ``alert``, ``incident``, ``ticket`` or ``log``.

Every event gets the next number of its bus, and the bus keeps the last ``history`` events, so
a client that lost its connection can resume where it left off: ``subscribe(after=N)`` replays
what came after event N, and says when some of that is gone (``Subscription.gap``). A bus has
an ``epoch`` of its own: numbers from another bus (an earlier run of the process) mean nothing
here.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import threading
from collections import deque
from collections.abc import AsyncIterator, Iterator
from typing import Any

Event = dict[str, Any]
Numbered = tuple[int, Event]


class Subscription:
    def __init__(self, bus: EventBus, maxsize: int) -> None:
        self._bus = bus
        self._loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[Numbered] = asyncio.Queue(maxsize)
        self.dropped = 0
        self.gap = False  # asked to resume from an event the bus no longer has

    def _put(self, item: Numbered) -> None:
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(item)

    def offer(self, item: Numbered) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._put(item)
        else:
            with contextlib.suppress(RuntimeError):  # the subscriber's loop has closed
                self._loop.call_soon_threadsafe(self._put, item)

    async def get(self) -> Numbered:
        """The next event and its number on the bus."""
        return await self.queue.get()

    def __aiter__(self) -> AsyncIterator[Numbered]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Numbered]:
        while True:
            yield await self.queue.get()

    def close(self) -> None:
        self._bus._remove(self)


class EventBus:
    def __init__(self, maxsize: int = 1000, history: int = 1000) -> None:
        self.maxsize = maxsize
        self.epoch = secrets.token_hex(4)
        self._subscribers: list[Subscription] = []
        self._history: deque[Numbered] = deque(maxlen=history)
        self._number = 0
        self._lock = threading.Lock()

    def subscribe(self, after: int | None = None) -> Subscription:
        """A new subscription (call from the subscriber's event loop); ``close()`` it after.
        With ``after``, the kept events numbered above it come first, then the live ones."""
        sub = Subscription(self, self.maxsize)
        with self._lock:
            if after is not None:
                oldest = self._history[0][0] if self._history else self._number + 1
                sub.gap = after < oldest - 1 or after > self._number
                for item in self._history:
                    if item[0] > after:
                        sub._put(item)
            self._subscribers.append(sub)
        return sub

    @contextlib.contextmanager
    def subscription(self) -> Iterator[Subscription]:
        sub = self.subscribe()
        try:
            yield sub
        finally:
            sub.close()

    def publish(self, event: Event) -> None:
        """Number ``event`` and offer it to every subscriber; never blocks, safe from any
        thread."""
        with self._lock:
            self._number += 1
            item = (self._number, event)
            self._history.append(item)
            subscribers = list(self._subscribers)
        for sub in subscribers:
            sub.offer(item)

    def _remove(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subscribers:
                self._subscribers.remove(sub)
