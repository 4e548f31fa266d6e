"""An in-process publish/subscribe bus for live events (alerts, incidents, ticket changes).

Interim: the ``alerts`` branch brings ``core/events.py`` with the same interface
(``EventBus.publish(event)``, ``subscribe() -> Subscription`` with ``get()`` and ``close()``);
once it is merged this module goes and the wiring uses that one.

Publishers call ``publish`` from any thread (the alert loop, a route running in a worker
thread); each subscriber is an async iterator on the event loop that subscribed. A slow
subscriber never blocks a publisher: its queue is bounded, and when it overflows the oldest
events are dropped and the next event it receives says how many were lost (``lost``), so a
screen knows to reload its state.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any

Event = dict[str, Any]


class Subscription:
    """Events published since it was made; iterate it, and close it (or use ``with``)."""

    def __init__(self, bus: EventBus, loop: asyncio.AbstractEventLoop, size: int) -> None:
        self._bus = bus
        self.loop = loop
        self.queue: asyncio.Queue[Event] = asyncio.Queue(size)
        self.lost = 0
        self.closed = False

    def deliver(self, event: Event) -> None:
        """On the subscriber's loop: queue ``event``, dropping the oldest when full."""
        if self.closed:
            return
        while self.queue.full():
            self.queue.get_nowait()
            self.lost += 1
        self.queue.put_nowait(event)

    async def get(self) -> Event:
        """The next event; one after a loss carries ``lost``: how many were dropped."""
        event = await self.queue.get()
        if self.lost:
            event = {**event, "lost": self.lost}
            self.lost = 0
        return event

    def close(self) -> None:
        self.closed = True
        self._bus.unsubscribe(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class EventBus:
    def __init__(self, queue_size: int = 1000) -> None:
        self.queue_size = queue_size
        self._subscribers: set[Subscription] = set()
        self._lock = threading.Lock()

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def publish(self, event: Event) -> None:
        """Offer ``event`` to every subscriber; never blocks, safe from any thread."""
        with self._lock:
            targets = list(self._subscribers)
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        for sub in targets:
            if running is sub.loop:
                sub.deliver(event)
            else:
                # a closed loop means the subscriber is gone; its close() unsubscribes it
                with contextlib.suppress(RuntimeError):
                    sub.loop.call_soon_threadsafe(sub.deliver, event)

    def subscribe(self) -> Subscription:
        """Start receiving events now; call from the event loop that will consume them."""
        sub = Subscription(self, asyncio.get_running_loop(), self.queue_size)
        with self._lock:
            self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            self._subscribers.discard(sub)
