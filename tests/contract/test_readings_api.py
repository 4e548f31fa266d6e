"""Raw readings through the API page on every read backend (DESIGN §9: ranges are bounded).

The store counts a page in its own query (``history(limit=)``); the API links the next page
and says the answer was truncated, and a CSV export streams the whole range page by page.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api import ApiContext, create_app
from api.routes import readings as readings_route
from core.clock import FakeClock
from core.readings import Quality, Reading
from core.site import load_site
from storage import RecordsDB
from storage.api_keys import Role
from tests.api_support import auth, new_key
from tests.contract.conftest import ReadBackend

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 3, 1, tzinfo=UTC)
URL = "/api/v1/equipment/tank-fire/readings"
COUNT = 25


def _level(i: int) -> Reading:
    if i == 7:
        return Reading("tank-fire", "level_m", T0 + timedelta(seconds=i), None, Quality.STALE, "s")
    return Reading("tank-fire", "level_m", T0 + timedelta(seconds=i), 3.0 + i / 100)


@pytest.fixture
def client(read_backend: ReadBackend, tmp_path: Path) -> Iterator[TestClient]:
    read_backend.load([_level(i) for i in range(COUNT)])
    records = RecordsDB(f"sqlite:///{tmp_path / 'records.db'}")
    site = load_site(ROOT / "examples" / "site.yaml")
    context = ApiContext(site, read_backend.store, records, clock=FakeClock(T0 + timedelta(days=1)))
    with TestClient(create_app(context), headers=auth(new_key(records, Role.VIEWER))) as client:
        yield client
    records.close()


def test_raw_readings_page_with_a_next_link_until_the_range_is_done(client: TestClient) -> None:
    params = {"signal": "level_m", "start": T0.isoformat(), "limit": "10"}
    first = client.get(URL, params=params).json()
    assert len(first["points"]) == 10 and first["truncated"] is True
    assert first["next_start"] == "2026-03-01T00:00:10Z"
    assert "every=" in first["hint"]
    seen, body = list(first["points"]), first
    while body["truncated"]:
        body = client.get(body["next"]).json()
        seen += body["points"]
    assert body["next"] is None and body["hint"] is None
    assert [p["ts"] for p in seen] == [
        (T0 + timedelta(seconds=i)).isoformat().replace("+00:00", "Z") for i in range(COUNT)
    ]
    assert seen[7] == {"ts": "2026-03-01T00:00:07Z", "value": None, "quality": "stale"}
    # every page kept the first page's end, though the client never named one
    assert body["end"] == first["end"] == "2026-03-02T00:00:00Z"


def test_a_range_that_fits_is_not_truncated(client: TestClient) -> None:
    body = client.get(URL, params={"signal": "level_m", "start": T0.isoformat()}).json()
    assert len(body["points"]) == COUNT and body["truncated"] is False and body["next"] is None


def test_csv_export_streams_the_whole_range_in_pages(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readings_route, "CSV_PAGE", 4)  # several store pages for 25 readings
    params = {"signal": "level_m", "start": T0.isoformat(), "format": "csv"}
    with client.stream("GET", URL, params=params) as response:
        assert response.status_code == 200
        assert "content-length" not in response.headers  # sent as it is read, not built whole
        text = b"".join(response.iter_bytes()).decode("utf-8")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[0] == list(readings_route.RAW_HEADER)
    assert len(rows) == 1 + COUNT
    assert rows[1] == ["2026-03-01 08:00:00.000", "2026-03-01T00:00:00+00:00", "3.0", "good", ""]
    assert rows[8][2:] == ["", "stale", "s"]


def test_csv_export_of_buckets(client: TestClient) -> None:
    params = {"signal": "level_m", "start": T0.isoformat(), "every": "10s", "format": "csv"}
    text = client.get(URL, params=params).text.removeprefix("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == list(readings_route.BUCKET_HEADER)
    assert [int(r[2]) for r in rows[1:]] == [9, 10, 5]  # the stale reading is not counted
