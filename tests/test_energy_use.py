"""Energy and water use per day, ISO week and month from the meters' counters, in the site's
local time, across a meter reset and a meter that was silent. Worked by hand in the test."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from api import ApiContext, create_app
from api.energy_use import energy_use
from core.catalogue import load_catalogue
from core.clock import FakeClock
from core.readings import Reading
from core.site import Site
from storage import RecordsDB, SqliteTimeSeriesStore
from storage.api_keys import Role
from tests.api_support import auth, new_key

TZ = ZoneInfo("Asia/Shanghai")
POWER, WATER = "meter-power-main", "meter-water-main"


def local(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=TZ).astimezone(UTC)


def load(store: SqliteTimeSeriesStore) -> None:
    """kWh every 10 min from 28 Feb 23:00 local: 10 kWh/h on 1 March, 20 on the 2nd and the
    morning of the 3rd; at noon on the 3rd the meter is replaced (counts from 0, 5 kWh/h).
    The water meter reports on 2 March only, 1 m³/h."""
    readings = []
    at, kwh = local(1) - timedelta(hours=1), 1000.0
    while at < local(4):
        if at >= local(3, 12) and at - timedelta(minutes=10) < local(3, 12):
            kwh = 0.0
        readings.append(Reading(POWER, "energy_kwh", at, kwh))
        rate = 20.0 if at >= local(2) - timedelta(minutes=10) else 10.0
        kwh += (5.0 if at >= local(3, 12) else rate) / 6
        at += timedelta(minutes=10)
    at, m3 = local(2), 500.0
    while at < local(3):
        readings.append(Reading(WATER, "volume_m3", at, m3))
        m3 += 1.0 / 6
        at += timedelta(minutes=10)
    store.write(readings)


@pytest.fixture
def loaded(ts_store: SqliteTimeSeriesStore) -> SqliteTimeSeriesStore:
    load(ts_store)
    return ts_store


def used(rows: list, equipment: str) -> dict[date, float | None]:  # type: ignore[type-arg]
    return {r.period_start: r.used for r in rows if r.equipment == equipment}


def test_use_per_local_day_week_and_month(site: Site, loaded: SqliteTimeSeriesStore) -> None:
    catalogue = load_catalogue()
    days = energy_use(loaded, site, catalogue, date(2026, 3, 1), date(2026, 3, 3), "day")
    power = used(days, POWER)
    assert power[date(2026, 3, 1)] == pytest.approx(240.0)
    assert power[date(2026, 3, 2)] == pytest.approx(480.0)
    # to 11:50: 12 h at 20; the new meter's first hour: 0 -> 4.17; then 11 h at 5
    assert power[date(2026, 3, 3)] == pytest.approx(240.0 + 25 / 6 + 55.0)
    water = used(days, WATER)
    assert water[date(2026, 3, 1)] is None and water[date(2026, 3, 3)] is None  # not known
    assert water[date(2026, 3, 2)] == pytest.approx(23 + 5 / 6)  # no baseline before 00:00
    assert {r.signal for r in days} == {"energy_kwh", "volume_m3"}  # only what each reported
    assert {(r.equipment, r.signal) for r in days} == {
        (POWER, "energy_kwh"),
        (WATER, "volume_m3"),
    }

    weeks = used(
        energy_use(loaded, site, catalogue, date(2026, 3, 1), date(2026, 3, 3), "week"), POWER
    )
    # 1 March 2026 is a Sunday: its ISO week began on 23 February (with 28 Feb 23:00-24:00)
    assert weeks[date(2026, 2, 23)] == pytest.approx(50 / 6 + 240.0)
    assert weeks[date(2026, 3, 2)] == pytest.approx(480.0 + 240.0 + 25 / 6 + 55.0)
    months = used(
        energy_use(loaded, site, catalogue, date(2026, 3, 1), date(2026, 3, 3), "month"), POWER
    )
    assert list(months) == [date(2026, 3, 1)]
    assert months[date(2026, 3, 1)] == pytest.approx(240.0 + 480.0 + 240.0 + 25 / 6 + 55.0)


def test_energy_use_over_the_api(
    site: Site, loaded: SqliteTimeSeriesStore, records: RecordsDB
) -> None:
    context = ApiContext(site=site, store=loaded, records=records, clock=FakeClock(local(5)))
    with TestClient(create_app(context), headers=auth(new_key(records, Role.VIEWER))) as client:
        body = client.get(
            "/api/v1/reports/energy", params={"start": "2026-03-01", "end": "2026-03-03"}
        ).json()
        assert body["period"] == "day"
        rows = {(r["equipment"], r["period_start"]): r for r in body["rows"]}
        assert rows[(POWER, "2026-03-02")]["used"] == pytest.approx(480.0)
        assert rows[(POWER, "2026-03-02")]["unit"] == "kWh"
        assert rows[(WATER, "2026-03-01")]["used"] is None
        assert rows[(WATER, "2026-03-02")]["equipment_name"] == "生活用水总表"
        bad = client.get(
            "/api/v1/reports/energy", params={"start": "2026-03-03", "end": "2026-03-01"}
        )
        assert bad.status_code == 422 and "start" in bad.json()["error"]
        too_long = client.get(
            "/api/v1/reports/energy", params={"start": "2024-01-01", "end": "2026-03-01"}
        )
        assert too_long.status_code == 422
