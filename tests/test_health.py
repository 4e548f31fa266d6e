"""/health reports each component and answers 503 while one is failing (issue 11 item 11),
checked by stopping real servers: PostgreSQL under the API, mosquitto under ``plantroom run``."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from api import ApiContext
from core.clock import FakeClock
from core.health import HealthBoard
from core.site import Site
from storage import RecordsDB, SqliteTimeSeriesStore
from tests.api_support import client_for
from tests.servers.mosquitto import Mosquitto
from tests.servers.ports import free_port, wait_listening
from tests.servers.postgres import start_postgres
from tests.test_processes import env_for, plantroom


def test_heartbeats_fail_when_silent_and_probes_say_why() -> None:
    clock = FakeClock(datetime(2026, 3, 1, tzinfo=UTC))
    board = HealthBoard(clock)
    beat = board.heartbeat("collectors", timedelta(seconds=30), "no readings stored")
    down: list[str] = []
    board.probe("mqtt-broker", lambda: down[0] if down else None)
    assert [c.ok for c in board.look()] == [True, True]
    clock.advance(31)
    collectors, broker = board.look()
    assert not collectors.ok and collectors.detail == (
        "no readings stored for 31 s (more than 0:00:30)"
    )
    assert broker.ok and broker.last_ok == clock.now()
    beat()
    down.append("not connected")
    collectors, broker = board.look()
    assert collectors.ok and collectors.last_ok == clock.now()
    assert not broker.ok and broker.detail == "not connected"
    assert broker.last_ok == clock.now()  # when it was last fine, kept while it fails


def test_a_probe_that_raises_is_a_failing_component() -> None:
    board = HealthBoard()

    def broken() -> str | None:
        raise RuntimeError("bug")

    board.probe("odd", broken)
    (odd,) = board.look()
    assert not odd.ok and odd.detail == "health probe failed: RuntimeError"


async def test_the_records_db_stopped_and_started(
    site: Site, ts_store: SqliteTimeSeriesStore
) -> None:
    postgres = start_postgres()  # its own server: this test stops it
    try:
        records = RecordsDB(postgres.create_database())
        context = ApiContext(site=site, store=ts_store, records=records)
        async with client_for(context) as client:
            healthy = await client.get("/api/v1/health")
            assert healthy.status_code == 200 and healthy.json()["status"] == "ok"
            assert set(healthy.json()["components"]) == {"records-db", "timeseries-store"}
            postgres.stop_fast()
            down = await client.get("/api/v1/health")
            assert down.status_code == 503
            body = down.json()
            assert body["status"] == "failing" and list(body["failing"]) == ["records-db"]
            assert body["failing"]["records-db"].startswith("unavailable: ")
            assert body["components"]["records-db"]["last_ok"] is not None
            assert body["components"]["timeseries-store"]["ok"] is True
            postgres.start()
            back = await client.get("/api/v1/health")
            assert back.status_code == 200 and back.json()["failing"] == {}
        records.close()
    finally:
        postgres.stop()


def _poll(url: str, until: Callable[[httpx.Response], bool], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    answer = None
    while time.monotonic() < deadline:
        try:
            answer = httpx.get(url, timeout=30)
        except httpx.TransportError:
            answer = None
        if answer is not None and until(answer):
            return answer.json()
        time.sleep(0.2)
    raise AssertionError(f"{url}: last answer {answer and answer.text}")


def test_the_broker_stopped_and_started_under_plantroom_run(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    env = env_for(tmp_path, mosquitto.url, PLANTROOM_DATA_DIR=str(tmp_path))
    port = free_port()
    with plantroom(["run", "--components", "collect,api", "--port", str(port)], env) as process:
        wait_listening(port, timeout=60)
        url = f"http://127.0.0.1:{port}/api/v1/health"
        body = _poll(url, lambda r: r.status_code == 200)
        assert set(body["components"]) == {
            "collectors",
            "mqtt-broker",
            "records-db",
            "timeseries-store",
        }
        mosquitto.stop()
        down = _poll(url, lambda r: r.status_code == 503)
        assert list(down["failing"]) == ["mqtt-broker"]
        assert down["failing"]["mqtt-broker"] == f"not connected to {mosquitto.url}"
        mosquitto.start()
        _poll(url, lambda r: r.status_code == 200)
        assert process.poll() is None
