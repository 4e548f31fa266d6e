"""Follow the logbook and announce new entries on the live stream.

When the alert engine and the collectors run in other processes than the API (``plantroom
api``), their events never reach this process's bus; the logbook does, because every state
change, alert change and ticket event is also a logbook entry. So the API process polls the
logbook's head and publishes each new entry as a ``log`` event, which is what the alarm
board refreshes on. In ``plantroom demo`` everything shares one bus and this is not needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from core.logs import FailureTracker
from storage import RecordsDB
from storage.logbook_query import StoredEntry, head_seq, log_event, read_after

log = logging.getLogger("plantroom.api.feed")


class LogbookFeed:
    def __init__(
        self,
        records: RecordsDB,
        publish: Callable[[dict[str, Any]], None],
        names: dict[str, str],
        interval: float = 0.5,
        batch: int = 500,
    ) -> None:
        self.records = records
        self.publish = publish
        self.names = names
        self.interval = interval
        self.batch = batch
        self.seen: int | None = None
        self._failures = FailureTracker(log)

    def poll(self) -> list[StoredEntry]:
        """New entries since the last poll (none on the first: that sets the start)."""
        with self.records.engine.connect() as conn:
            if self.seen is None:
                self.seen = head_seq(conn)
                return []
            fresh = read_after(conn, self.seen, self.batch)
        if fresh:
            self.seen = fresh[-1].seq
        return fresh

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                fresh = await asyncio.to_thread(self.poll)
            except SQLAlchemyError as err:
                self._failures.failed("records-db", str(err))
                fresh = []
            else:
                self._failures.recovered("records-db")
            for stored in fresh:
                name = self.names.get(stored.entry.equipment, stored.entry.equipment)
                self.publish(log_event(stored, name))
            if len(fresh) < self.batch:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.interval)
