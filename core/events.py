"""A tiny in-process event bus for the live alarm stream (DESIGN §9 ``GET /stream``).

Publishers never block: each subscriber has a bounded queue, and a subscriber that falls
behind loses its oldest events (and is told how many) rather than slowing the alert engine.
Events are JSON-ready dicts with a ``type`` of ``alert``, ``incident`` or ``ticket``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

Event = dict[str, Any]


class Subscription:
    def __init__(self, bus: EventBus, maxsize: int) -> None:
        self._bus = bus
        self._loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[Event] = asyncio.Queue(maxsize)
        self.dropped = 0

    def _put(self, event: Event) -> None:
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(event)

    def offer(self, event: Event) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._put(event)
        else:
            with contextlib.suppress(RuntimeError):  # the subscriber's loop has closed
                self._loop.call_soon_threadsafe(self._put, event)

    async def get(self) -> Event:
        return await self.queue.get()

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Event]:
        while True:
            yield await self.queue.get()

    def close(self) -> None:
        self._bus._remove(self)


class EventBus:
    def __init__(self, maxsize: int = 1000) -> None:
        self.maxsize = maxsize
        self._subscribers: list[Subscription] = []
        self._lock = threading.Lock()

    def subscribe(self) -> Subscription:
        """A new subscription (call from the subscriber's event loop); ``close()`` it after."""
        sub = Subscription(self, self.maxsize)
        with self._lock:
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
        """Offer ``event`` to every subscriber; never blocks, safe from any thread."""
        with self._lock:
            subscribers = list(self._subscribers)
        for sub in subscribers:
            sub.offer(event)

    def _remove(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subscribers:
                self._subscribers.remove(sub)
