"""A webhook receiver that is down, then answers 500, then recovers: every notification the
real alert engine queued arrives, once, in the order the events happened."""

from __future__ import annotations

import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from storage.tickets import outbox
from tests.reliability.alert_plant import PumpPlant, wait_for
from tests.servers.ports import free_port

PUMPS = 10


class FlakyReceiver:
    """Our own notification sink on a fixed port: answers 500 to its first ``errors`` posts,
    then 204; ``start`` is called late to play a receiver that was down."""

    def __init__(self, port: int, errors: int) -> None:
        self.port = port
        self.errors = errors
        self.requests: list[str] = []  # Idempotency-Key of every post, in arrival order
        self.accepted: list[str] = []
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                key = self.headers["Idempotency-Key"]
                receiver.requests.append(key)
                if len(receiver.requests) <= receiver.errors:
                    self.send_response(500)
                else:
                    receiver.accepted.append(key)
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def test_webhook_down_then_500_then_recovered(tmp_path: Path) -> None:
    receiver = FlakyReceiver(free_port(), errors=2)
    plant = PumpPlant(
        tmp_path, f"sqlite:///{tmp_path / 'records.db'}", pumps=PUMPS, webhook_url=receiver.url
    )
    try:
        plant.start_engine()
        for pump in plant.pumps:
            plant.trip(pump)
        wait_for("a ticket notification per trip", lambda: len(plant.rows(outbox)) >= PUMPS)
        # down: connection refused until the head of the queue has failed twice
        wait_for("two refused attempts", lambda: plant.rows(outbox)[0]["attempts"] >= 2)
        refused = plant.rows(outbox)[0]["last_error"]
        receiver.start()  # two answers of 500, then it recovers
        wait_for(
            "every notification delivered",
            lambda: all(r["delivered_at"] is not None for r in plant.rows(outbox)),
            timeout=60,
        )
        rows = plant.rows(outbox)
        log = (tmp_path / "engine-0.log").read_text()
    finally:
        plant.close()
        receiver.stop()
    in_order = [r["event_key"] for r in rows]  # by id: the order the events happened
    duplicated = sum(n - 1 for n in Counter(receiver.accepted).values())
    lost = len(set(in_order) - set(receiver.accepted))
    print(
        f"webhook outage: notifications={len(rows)} lost={lost} duplicated={duplicated} "
        f"posts={len(receiver.requests)} head attempts={rows[0]['attempts']}"
    )
    assert "Connection refused" in refused or "ConnectError" in refused, refused
    assert (lost, duplicated) == (0, 0)
    assert receiver.accepted == in_order
    # nothing overtook the head while it failed: the 500s went to the first row too
    assert receiver.requests[:3] == [in_order[0]] * 3
    assert rows[0]["attempts"] == 5  # refused twice, 500 twice, delivered
    lines = [line for line in log.splitlines() if "what=webhook" in line]
    assert [line.split(" what=")[0].split("plantroom.outbox ")[1] for line in lines] == [
        "failed",  # refused: logged once
        "retry failed",  # then 500: a new reason, logged at once
        "recovered",
    ], lines
    assert "HTTP 500" in lines[1] and "retries=4" in lines[2], lines
