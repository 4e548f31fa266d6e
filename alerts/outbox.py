"""Webhook delivery from the outbox table: never lost while the receiver is down, sent once
per event, and in the order the events happened.

Rows go out oldest first (by id), head of line: the oldest undelivered row must be delivered
before any row behind it is tried, so when it fails (backing off 1 s doubling to 5 min,
retried forever) everything behind it waits with it, and after an outage the receiver gets
the backlog in order. A row is claimed by compare-and-set (``claimed_until``); a head row
claimed by another engine stops this one too, for the same reason. Each post carries an
``Idempotency-Key`` equal to the row's event key: if a process dies between the receiver's
2xx and marking the row, the row is sent again with the same key, which the receiver uses to
drop the repeat. The first failure is logged at once; after it, each failed retry is logged
when its reason changes, else at most once per ``RETRY_LOG_EVERY`` with the count of retries
not logged, and the recovery once.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from core.logs import FailureTracker, event
from storage.tickets import outbox

log = logging.getLogger("plantroom.outbox")

CLAIM = timedelta(seconds=30)
RETRY_LOG_EVERY = timedelta(seconds=60)


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(300.0, 2.0 ** max(0, attempts - 1)))


class Outbox:
    def __init__(self, engine: Engine, url: str | None, timeout: float = 5.0) -> None:
        self.engine = engine
        self.url = url
        self._client = httpx.Client(timeout=timeout)
        self._failures = FailureTracker(log)
        # retry logging: (when, reason) of the last line, and the retries since then not logged
        self._logged: tuple[datetime, str] = (datetime.min.replace(tzinfo=UTC), "")
        self._unlogged = 0
        self._retries = 0  # failed attempts since the last delivery, for the recovery line

    def deliver_due(self, now: datetime, limit: int = 50) -> int:
        """Post pending notifications oldest first until one fails or is not due yet (its
        backoff holds back every row behind it); returns how many were delivered."""
        if self.url is None:
            return 0
        with self.engine.connect() as conn:
            head = conn.execute(
                sa.select(
                    outbox.c.id,
                    outbox.c.event_key,
                    outbox.c.payload,
                    outbox.c.attempts,
                    (outbox.c.next_attempt_at <= now).label("due"),
                )
                .where(outbox.c.delivered_at.is_(None))
                .order_by(outbox.c.id)
                .limit(limit)
            ).all()
        delivered = 0
        for row_id, key, payload, attempts, due in head:
            if not due or not self._claim(row_id, now):
                break  # backing off, or another engine is sending it: nothing overtakes it
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
                self._log_failure(error, key, attempts + 1, now)
                break
            if self._failures.recovered("webhook", retries=self._retries):
                self._retries = 0
        return delivered

    def _log_failure(self, error: str, key: str, attempt: int, now: datetime) -> None:
        """The first failure once; then each retry whose reason changed, or one a minute."""
        self._retries += 1
        if self._failures.failed("webhook", error, event_key=key):
            self._logged = (now, error)
            self._unlogged = 0
            return
        last_at, last_error = self._logged
        if error == last_error and now - last_at < RETRY_LOG_EVERY:
            self._unlogged += 1
            return
        event(
            log,
            "retry failed",
            logging.WARNING,
            what="webhook",
            reason=error,
            event_key=key,
            attempt=attempt,
            next_in=f"{backoff(attempt).total_seconds():g}s",
            not_logged=self._unlogged,
        )
        self._logged = (now, error)
        self._unlogged = 0

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
