"""Webhook delivery from the outbox table: never lost while the receiver is down, and sent
once per event.

A row is claimed by compare-and-set (``claimed_until``), posted with an ``Idempotency-Key``
header equal to its event key, and marked delivered on a 2xx. Failures back off (1 s doubling
to 5 min) and are retried forever. If a process dies between the receiver's 2xx and marking
the row, the row is sent again with the same key, which the receiver uses to drop the repeat.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from core.logs import FailureTracker
from storage.tickets import outbox

log = logging.getLogger("plantroom.outbox")

CLAIM = timedelta(seconds=30)


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(300.0, 2.0 ** max(0, attempts - 1)))


class Outbox:
    def __init__(self, engine: Engine, url: str | None, timeout: float = 5.0) -> None:
        self.engine = engine
        self.url = url
        self._client = httpx.Client(timeout=timeout)
        self._failures = FailureTracker(log)

    def deliver_due(self, now: datetime, limit: int = 50) -> int:
        """Post every notification that is due; returns how many were delivered."""
        if self.url is None:
            return 0
        with self.engine.connect() as conn:
            due = conn.execute(
                sa.select(outbox.c.id, outbox.c.event_key, outbox.c.payload, outbox.c.attempts)
                .where(
                    outbox.c.delivered_at.is_(None),
                    outbox.c.next_attempt_at <= now,
                    sa.or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until < now),
                )
                .order_by(outbox.c.id)
                .limit(limit)
            ).all()
        delivered = 0
        for row_id, key, payload, attempts in due:
            if not self._claim(row_id, now):
                continue  # another engine took it
            error = self._post(key, payload)
            with self.engine.begin() as conn:
                if error is None:
                    conn.execute(
                        outbox.update()
                        .where(outbox.c.id == row_id)
                        .values(delivered_at=now, attempts=attempts + 1, last_error=None)
                    )
                    delivered += 1
                else:
                    conn.execute(
                        outbox.update()
                        .where(outbox.c.id == row_id)
                        .values(
                            attempts=attempts + 1,
                            next_attempt_at=now + backoff(attempts + 1),
                            claimed_until=None,
                            last_error=error[:2000],
                        )
                    )
            if error is not None:
                self._failures.failed("webhook", error)
                break  # the receiver is down: keep order, try again after the backoff
            self._failures.recovered("webhook")
        return delivered

    def _claim(self, row_id: int, now: datetime) -> bool:
        try:
            with self.engine.begin() as conn:
                done = conn.execute(
                    outbox.update()
                    .where(
                        outbox.c.id == row_id,
                        outbox.c.delivered_at.is_(None),
                        sa.or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until < now),
                    )
                    .values(claimed_until=now + CLAIM)
                )
                return done.rowcount == 1
        except SQLAlchemyError as err:
            self._failures.failed("outbox-claim", str(err))
            return False

    def _post(self, key: str, payload: str) -> str | None:
        assert self.url is not None
        try:
            response = self._client.post(
                self.url,
                content=payload.encode("utf-8"),
                headers={"Content-Type": "application/json", "Idempotency-Key": key},
            )
        except httpx.HTTPError as err:
            return f"{self.url}: {type(err).__name__}: {err}"
        if response.is_success:
            return None
        return f"{self.url}: HTTP {response.status_code}: {response.text[:200]}"

    def pending(self) -> int:
        with self.engine.connect() as conn:
            count = conn.execute(
                sa.select(sa.func.count())
                .select_from(outbox)
                .where(outbox.c.delivered_at.is_(None))
            ).scalar_one()
        return int(count)

    def close(self) -> None:
        self._client.close()
