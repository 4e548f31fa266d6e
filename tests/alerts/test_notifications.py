"""Notifications: the outbox survives a receiver that is down and sends each event once; the
live stream gets incidents and tickets at once."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from alerts.outbox import Outbox
from core.events import EventBus
from storage.tickets import enqueue
from tests.alerts.rig import Rig


class Receiver:
    """Our own notification sink: refuses the first ``down_for`` requests, then accepts."""

    def __init__(self, down_for: int) -> None:
        self.down_for = down_for
        self.requests: list[tuple[str, dict[str, object]]] = []
        self.accepted: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                key = self.headers["Idempotency-Key"]
                receiver.requests.append((key, json.loads(body)))
                if len(receiver.requests) <= receiver.down_for:
                    self.send_response(503)
                else:
                    receiver.accepted.append(key)
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(down_for=2)
    yield r
    r.stop()


def test_outbox_retries_until_delivered_and_sends_each_event_once(
    rig: Rig, receiver: Receiver
) -> None:
    rig.set("pump-1", fault=1)
    rig.set("panel-1", fire_alarm=1)
    rig.tick()
    rows = rig.outbox()
    assert len(rows) == 2  # the ticket opened and the fire incident
    box = Outbox(rig.records.engine, receiver.url)
    try:
        delivered = 0
        for _ in range(20):  # the receiver is down at first: backoff, then success
            delivered += box.deliver_due(rig.clock.now())
            rig.clock.advance(5)
        assert delivered == 2 and box.pending() == 0
        # a second sender on the same outbox finds nothing left to send
        other = Outbox(rig.records.engine, receiver.url)
        assert other.deliver_due(rig.clock.now()) == 0
        other.close()
    finally:
        box.close()
    assert sorted(receiver.accepted) == sorted(r["event_key"] for r in rows)
    assert len(receiver.requests) == 4  # two refused attempts, then each event once
    payloads = [body for key, body in receiver.requests if key in receiver.accepted]
    assert {p["type"] for p in payloads} == {"ticket", "incident"}
    assert [r["attempts"] for r in rig.outbox()] in ([3, 1], [2, 2], [1, 3])


def test_after_an_outage_the_backlog_arrives_in_order(rig: Rig, receiver: Receiver) -> None:
    # Regression: each row backed off on its own clock, so a row behind a failed one that was
    # due sooner overtook it (1, 2, 3, 4, 5, 8, 6, 7 after an outage).
    with rig.records.engine.begin() as conn:
        for n in range(1, 6):
            enqueue(conn, f"event-{n}", {"n": n}, rig.clock.now())
    box = Outbox(rig.records.engine, receiver.url)
    try:
        for _ in range(40):  # half-second steps: backoffs of 1 s and 2 s end between them
            box.deliver_due(rig.clock.now())
            rig.clock.advance(0.5)
        assert box.pending() == 0
    finally:
        box.close()
    assert receiver.accepted == [f"event-{n}" for n in range(1, 6)]
    # only the head was retried while the receiver refused: 2 refusals, then each row once
    assert [key for key, _ in receiver.requests] == ["event-1"] * 3 + [
        f"event-{n}" for n in range(2, 6)
    ]


def test_each_retry_reason_is_logged_at_a_bounded_rate(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    down = Receiver(down_for=1000)  # answers 503 to everything
    with rig.records.engine.begin() as conn:
        enqueue(conn, "event-1", {"n": 1}, rig.clock.now())
    box = Outbox(rig.records.engine, down.url)
    caplog.set_level(logging.INFO, logger="plantroom.outbox")
    try:
        for _ in range(600):  # 10 minutes in 1 s steps: 1, 2, 4, … 256 s backoffs
            box.deliver_due(rig.clock.now())
            rig.clock.advance(1)
        attempts = len(down.requests)
        lines = [r.getMessage() for r in caplog.records]
        assert lines.count("failed") == 1
        retries = [r for r in caplog.records if r.getMessage() == "retry failed"]
        # the same reason: after the first line, each retry at least a minute after the last
        # logged one is logged (the backoff exceeds a minute after the 7th attempt)
        assert 3 <= len(retries) < attempts - 1, (len(retries), attempts)
        assert all("HTTP 503" in vars(r)["fields"]["reason"] for r in retries)
        assert sum(vars(r)["fields"]["not_logged"] for r in retries) + len(retries) <= attempts
        down.down_for = 0  # recovers
        rig.clock.advance(300)
        box.deliver_due(rig.clock.now())
        recovered = [r for r in caplog.records if r.getMessage() == "recovered"]
        assert len(recovered) == 1 and vars(recovered[0])["fields"]["retries"] == attempts
    finally:
        box.close()
        down.stop()


async def test_live_stream_gets_the_fire_alarm_at_once(tmp_path: Path) -> None:
    bus = EventBus(maxsize=100)
    rig = Rig(tmp_path, f"sqlite:///{tmp_path / 'records.db'}", bus=bus)
    try:
        with bus.subscription() as sub:
            rig.tick()
            rig.set("panel-1", fire_alarm=1)
            rig.tick()
            rig.service.publish(rig.notices)
            events = [sub.queue.get_nowait()[1] for _ in range(sub.queue.qsize())]
        incident = [e for e in events if e["type"] == "incident"]
        assert incident and incident[0]["equipment"] == "panel-1"
        assert incident[0]["event"] == "started"
    finally:
        rig.close()


async def test_a_slow_subscriber_loses_its_oldest_events_not_the_publisher() -> None:
    bus = EventBus(maxsize=3)
    with bus.subscription() as sub:
        for i in range(10):
            bus.publish({"type": "alert", "n": i})
        assert [(await sub.get())[1]["n"] for _ in range(3)] == [7, 8, 9]
        assert sub.dropped == 7
