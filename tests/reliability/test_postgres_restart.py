"""PostgreSQL restarted while tickets are being opened: the API answers 503 with a clear
message meanwhile and recovers by itself; the engine survives and catches up; at the end
there is exactly one ticket per fault episode."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from storage.api_keys import Role, create_key
from storage.tickets import tickets
from tests.reliability.alert_plant import PumpPlant, wait_for
from tests.reliability.harness import PlantroomProcess
from tests.servers.ports import free_port
from tests.servers.postgres import start_postgres


def test_postgres_restarted_while_tickets_are_opened(tmp_path: Path) -> None:
    postgres = start_postgres()  # its own server: this test stops it
    plant = PumpPlant(tmp_path, postgres.create_database(), pumps=30)
    with plant.records.engine.begin() as conn:
        _, key = create_key(conn, Role.VIEWER, "reliability", datetime.now(UTC))
    port = free_port()
    api = PlantroomProcess(["api", "--port", str(port)], plant.env, tmp_path / "api.log")
    http = httpx.Client(
        base_url=f"http://127.0.0.1:{port}/api/v1",
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )

    def get_tickets() -> httpx.Response | None:
        try:
            return http.get("/tickets", params={"limit": 500})
        except httpx.TransportError:
            return None

    answers_during_outage: list[httpx.Response] = []
    try:
        api.start()
        wait_for("the API", lambda: (a := get_tickets()) is not None and a.status_code == 200)
        engine = plant.start_engine()
        for pump in plant.pumps[:10]:  # a first burst, before the fault
            plant.trip(pump)
        wait_for("the first ten tickets", lambda: len(plant.rows(tickets)) == 10)
        for pump in plant.pumps[10:20]:  # a second burst, cut off while it is being ticketed
            plant.trip(pump)
            time.sleep(0.05)
        wait_for("the second burst's first ticket", lambda: len(plant.rows(tickets)) > 10)
        opened_before_stop = len(plant.rows(tickets))
        postgres.stop_fast()
        for pump in plant.pumps[20:]:  # faults that arrive while the records DB is down
            plant.trip(pump)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            answer = get_tickets()
            if answer is not None:
                answers_during_outage.append(answer)
            time.sleep(0.2)
        postgres.start()  # same port, same data
        wait_for("the API to recover", lambda: (a := get_tickets()) and a.status_code == 200)
        wait_for("a ticket per trip", lambda: len(plant.rows(tickets)) >= 30, timeout=40)
        for pump in plant.pumps:
            plant.clear(pump)
        wait_for("recovery", lambda: not plant.rows(tickets, tickets.c.fault_active))
        count = plant.count_tickets({pump: 1 for pump in plant.pumps})
        listed = get_tickets()
        engine_alive = engine.poll() is None
    finally:
        api.stop()
        http.close()
        plant.close()
        postgres.stop()
    print(f"postgres restart: opened before stop={opened_before_stop} {count}")
    assert 10 < opened_before_stop < 20, opened_before_stop  # the stop cut the second burst
    assert engine_alive
    assert answers_during_outage, "the API did not answer during the outage"
    for answer in answers_during_outage:
        assert answer.status_code == 503, (answer.status_code, answer.text)
        assert answer.json()["error"].startswith("records database unavailable: ")
    assert listed is not None and listed.status_code == 200
    assert (count.lost, count.duplicated) == (0, 0), count
