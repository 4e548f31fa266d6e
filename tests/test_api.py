"""The API through the real app on a real SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from api import ApiContext, create_app
from core.clock import FakeClock
from core.readings import Quality, Reading
from core.site import Site
from storage import RecordsDB, SqliteTimeSeriesStore
from storage.api_keys import Role
from tests.api_support import auth, new_key

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


@pytest.fixture
def client(site: Site, ts_store: SqliteTimeSeriesStore, records: RecordsDB) -> Iterator[TestClient]:
    readings = [
        Reading("tank-fire", "level_m", NOW - timedelta(minutes=60 - m), 3.0 + m / 100)
        for m in range(60)
    ]
    readings += [
        Reading("pump-fire-1", "running", NOW - timedelta(minutes=1), 1.0),
        Reading(
            "pump-fire-1",
            "outlet_pressure_mpa",
            NOW - timedelta(minutes=1),
            None,
            Quality.STALE,
            "no data for 30s",
        ),
    ]
    ts_store.write(readings)
    app = create_app(ApiContext(site=site, store=ts_store, records=records, clock=FakeClock(NOW)))
    # reads need a viewer key (tests/test_api_auth.py covers the role checks)
    with TestClient(app, headers=auth(new_key(records, Role.VIEWER))) as test_client:
        yield test_client


def test_health(client: TestClient) -> None:
    body = client.get("/api/v1/health").json()
    assert body["status"] == "ok" and body["site"] == "lakeside" and body["equipment"] == 17


def test_equipment_list_with_status_and_chinese_names(client: TestClient) -> None:
    machines = {m["id"]: m for m in client.get("/api/v1/equipment").json()}
    assert machines["tank-fire"]["name"] == "消防水池"
    assert machines["tank-fire"]["building_name"] == "2号楼"
    assert machines["tank-fire"]["status"] == "ok"
    assert machines["pump-fire-1"]["status"] == "stale"
    assert machines["lift-b1-1"]["status"] == "no_data"


def test_equipment_detail_shows_typed_values_with_quality(client: TestClient) -> None:
    body = client.get("/api/v1/equipment/pump-fire-1").json()
    assert body["signals"]["running"] == {
        "value": True,
        "quality": "good",
        "ts": "2026-11-22T07:59:00Z",
        "unit": None,
        "reason": None,
    }
    stale = body["signals"]["outlet_pressure_mpa"]
    assert stale["value"] is None and stale["quality"] == "stale" and stale["unit"] == "MPa"


def test_readings_raw_and_downsampled(client: TestClient) -> None:
    raw = client.get("/api/v1/equipment/tank-fire/readings", params={"signal": "level_m"}).json()
    assert len(raw["points"]) == 60 and raw["unit"] == "m"
    start = (NOW - timedelta(hours=1)).isoformat()
    body = client.get(
        "/api/v1/equipment/tank-fire/readings",
        params={"signal": "level_m", "start": start, "end": NOW.isoformat(), "every": "15m"},
    ).json()
    assert [b["count"] for b in body["buckets"]] == [15, 15, 15, 15]
    assert body["buckets"][0]["min"] == 3.0 and body["buckets"][0]["max"] == 3.14
    assert body["every_seconds"] == 900


@pytest.mark.parametrize(
    ("path", "params", "status", "message"),
    [
        ("/api/v1/equipment/ghost", {}, 404, "unknown equipment 'ghost'"),
        ("/api/v1/equipment/ghost/readings", {"signal": "level_m"}, 404, "unknown equipment"),
        ("/api/v1/equipment/tank-fire/readings", {"signal": "rpm"}, 404, "has no signal 'rpm'"),
        ("/api/v1/equipment/tank-fire/readings", {}, 422, "signal"),
        (
            "/api/v1/equipment/tank-fire/readings",
            {"signal": "level_m", "start": "2026-11-22T09:00:00Z", "end": "2026-11-22T08:00:00Z"},
            422,
            "must be before end",
        ),
        (
            "/api/v1/equipment/tank-fire/readings",
            {"signal": "level_m", "start": "noon"},
            422,
            "start",
        ),
        (
            "/api/v1/equipment/tank-fire/readings",
            {"signal": "level_m", "every": "often"},
            422,
            "every",
        ),
        (
            "/api/v1/equipment/tank-fire/readings",
            {"signal": "level_m", "every": "0s"},
            422,
            "every",
        ),
        (
            "/api/v1/equipment/tank-fire/readings",
            {"signal": "level_m", "start": "2020-01-01T00:00:00Z", "every": "1s"},
            422,
            "buckets",
        ),
        # out-of-range dates were a 500 (OverflowError) before they were checked
        (
            "/api/v1/equipment/tank-fire/readings",
            {"signal": "level_m", "end": "0001-01-01T00:30:00Z"},
            422,
            "end: 0001-01-01T00:30:00+00:00 is outside",
        ),
        (
            "/api/v1/equipment/tank-fire/readings",
            {"signal": "level_m", "start": "9999-12-31T23:59:59-01:00"},
            422,
            "start",
        ),
        (
            "/api/v1/equipment/tank-fire/readings",
            {"signal": "level_m", "every": "99999999999999d"},
            422,
            "every",
        ),
        ("/api/v1/equipment/tank-fire/readings", {"signal": "level_m", "limit": "0"}, 422, "limit"),
        (
            "/api/v1/equipment/tank-fire/readings",
            {"signal": "level_m", "limit": str(10**30)},
            422,
            "limit",
        ),
    ],
)
def test_bad_requests_are_clear_4xx(
    client: TestClient, path: str, params: dict[str, str], status: int, message: str
) -> None:
    response = client.get(path, params=params)
    assert response.status_code == status
    assert message in response.json()["error"]


def test_metrics_are_prometheus_text(client: TestClient) -> None:
    response = client.get("/api/v1/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")


def test_values_are_shown_to_their_signals_precision(
    client: TestClient, ts_store: SqliteTimeSeriesStore
) -> None:
    # a float32 register decodes to 25.8799991607666 A: a person reads 25.9 (catalogue: 1 dp)
    at = NOW - timedelta(seconds=30)
    ts_store.write(
        [
            Reading("pump-fire-1", "current_a", at, 25.8799991607666),
            Reading("pump-fire-1", "frequency_hz", at, 49.99999237060547),
            Reading("tank-fire", "level_pct", at, 66.66666412353516),
        ]
    )
    pump = client.get("/api/v1/equipment/pump-fire-1").json()["signals"]
    assert pump["current_a"]["value"] == 25.9
    assert pump["frequency_hz"]["value"] == 50.0
    tank = client.get("/api/v1/equipment/tank-fire").json()["signals"]
    assert tank["level_pct"]["value"] == 66.7
    start = (at - timedelta(minutes=1)).isoformat()
    end = (at + timedelta(minutes=1)).isoformat()
    raw = client.get(
        "/api/v1/equipment/pump-fire-1/readings",
        params={"signal": "current_a", "start": start, "end": end},
    ).json()
    assert [p["value"] for p in raw["points"]] == [25.9]
    buckets = client.get(
        "/api/v1/equipment/pump-fire-1/readings",
        params={"signal": "current_a", "start": start, "end": end, "every": "2m"},
    ).json()["buckets"]
    assert [(b["mean"], b["max"], b["last"]) for b in buckets if b["count"]] == [(25.9, 25.9, 25.9)]


def test_times_without_an_offset_are_read_in_the_sites_zone(client: TestClient) -> None:
    # a supervisor asking for November's KPIs means November in Shanghai, not in UTC
    k = client.get(
        "/api/v1/kpis", params={"start": "2026-11-01T00:00:00", "end": "2026-11-02"}
    ).json()
    assert datetime.fromisoformat(k["start"]) == datetime(2026, 10, 31, 16, 0, tzinfo=UTC)
    assert datetime.fromisoformat(k["end"]) == datetime(2026, 11, 1, 16, 0, tzinfo=UTC)
    # the same for readings: 15:30 local is 07:30 UTC, half an hour before NOW
    points = client.get(
        "/api/v1/equipment/tank-fire/readings",
        params={"signal": "level_m", "start": "2026-11-22T15:30:00", "end": "2026-11-22T16:00"},
    ).json()["points"]
    assert len(points) == 30
    assert datetime.fromisoformat(points[0]["ts"]) == datetime(2026, 11, 22, 7, 30, tzinfo=UTC)
    # an explicit offset is taken as given
    k = client.get(
        "/api/v1/kpis", params={"start": "2026-11-01T00:00:00Z", "end": "2026-11-02T00:00:00Z"}
    )
    assert datetime.fromisoformat(k.json()["start"]) == datetime(2026, 11, 1, tzinfo=UTC)
