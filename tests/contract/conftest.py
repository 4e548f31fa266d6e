"""Backends for the time-series contract suite, each a real server started once per session.

Reads run on SQLite, on Debian's InfluxDB 1.6 (loaded through its ``/write`` with exactly the
line protocol our writer produces) and, when ``PLANTROOM_TEST_INFLUX_URL`` names one, on a
real InfluxDB 2. Writes run on SQLite, on VictoriaMetrics (which accepts ``/api/v2/write``)
and on that InfluxDB 2.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from core.readings import Quality, Reading, ms_from_utc
from core.site import load_site
from storage import SqliteTimeSeriesStore, TimeSeriesStore, site_tags
from storage.influx_ts import InfluxConfig, InfluxTimeSeriesStore, line_protocol
from storage.timeseries import SeriesTags
from tests.servers.influxdb import InfluxDB1
from tests.servers.victoria import VictoriaMetrics

INFLUX2_ENV = "PLANTROOM_TEST_INFLUX_URL"

ROOT = Path(__file__).resolve().parents[2]
# the suite's own machines (one with characters line protocol must escape) and the example site's
TAGS = {
    "pump-1": SeriesTags("lakeside", "b1", "pump"),
    "pump-2": SeriesTags("lakeside", "b2", "pump"),
    "tank-1": SeriesTags("lakeside", "b1", "water_tank"),
    "泵 3,东": SeriesTags("湖畔 花园", "1号楼,东=A", "pump"),
    **site_tags(load_site(ROOT / "examples" / "site.yaml")),
}

_names = itertools.count()
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FAR_FUTURE = datetime(2200, 1, 1, tzinfo=UTC)


def influx2_url() -> str | None:
    return os.environ.get(INFLUX2_ENV) or None


influx2 = pytest.param(
    "influxdb-2",
    marks=pytest.mark.skipif(
        influx2_url() is None,
        reason=f"set {INFLUX2_ENV}=influxdb://TOKEN@host:8086?org=ORG&bucket=BUCKET "
        "to run the suite against a real InfluxDB 2 (see README)",
    ),
)


def clear_influx2(url: str) -> None:
    """Delete everything in the test bucket (it must be a scratch bucket)."""
    config = InfluxConfig.parse(url)
    answer = httpx.post(
        f"{config.base_url}/api/v2/delete",
        params={"org": config.org, "bucket": config.bucket},
        headers={"Authorization": f"Token {config.token}"},
        json={"start": "1970-01-01T00:00:00Z", "stop": "2200-01-01T00:00:00Z"},
        timeout=30,
    )
    answer.raise_for_status()


@dataclass
class ReadBackend:
    """A store to read from and how to put readings into it."""

    store: TimeSeriesStore
    load: Callable[[Sequence[Reading]], None]


@pytest.fixture(params=["sqlite", "influxdb-1.6", influx2])
def read_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ReadBackend]:
    store: TimeSeriesStore
    if request.param == "sqlite":
        store = SqliteTimeSeriesStore(tmp_path / "ts.db", TAGS)
        yield ReadBackend(store, store.write)
    elif request.param == "influxdb-1.6":
        server: InfluxDB1 = request.getfixturevalue("influxdb1")
        db = f"contract_{next(_names)}"
        server.create_database(db)
        store = InfluxTimeSeriesStore(InfluxConfig.parse(server.url(db)), TAGS)
        yield ReadBackend(store, lambda rs: server.write_lines(db, line_protocol(rs, TAGS)))
    else:
        url = influx2_url()
        assert url is not None
        clear_influx2(url)
        store = InfluxTimeSeriesStore(InfluxConfig.parse(url), TAGS)
        yield ReadBackend(store, store.write)
    store.close()


Stored = dict[tuple[str, str], dict[int, float]]


@dataclass
class WriteBackend:
    """A store to write to, and a view of the good values the server kept.

    Each test gets its own site tag, so tests sharing one server do not see each other.
    """

    name: str
    tags: dict[str, SeriesTags]
    store: TimeSeriesStore
    stored: Callable[[Sequence[str]], Stored]  # signals -> {(equipment, signal): {ms: value}}
    victoria: VictoriaMetrics | None = None


def _tags_for(site: str) -> dict[str, SeriesTags]:
    return {eq: SeriesTags(site, t.building, t.kind) for eq, t in TAGS.items()}


def read_back(store: TimeSeriesStore, ids: Sequence[str], signals: Sequence[str]) -> Stored:
    """Good values through the store's own reads."""
    out: Stored = {}
    for eq in ids:
        for signal in signals:
            rows = store.history(eq, signal, EPOCH, FAR_FUTURE)
            good = {
                ms_from_utc(r.ts): float(r.value)
                for r in rows
                if isinstance(r, Reading) and r.quality is Quality.GOOD and r.value is not None
            }
            if good:
                out[(eq, signal)] = good
    return out


def victoria_view(server: VictoriaMetrics, tags: dict[str, SeriesTags]) -> Stored:
    """What VictoriaMetrics stored for one test's site, as (equipment, field) -> samples.

    VictoriaMetrics names field ``f`` of measurement ``m`` as metric ``m_f``.
    """
    site = next(iter(tags.values())).site
    out: Stored = {}
    for (metric, labels), samples in server.series(f'{{site="{site}"}}').items():
        eq = dict(labels)["equipment"]
        out[(eq, metric.removeprefix(tags[eq].kind + "_"))] = samples
    return out


@pytest.fixture(params=["sqlite", "victoriametrics", influx2])
def write_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WriteBackend]:
    tags = _tags_for(f"site{next(_names)}")
    store: TimeSeriesStore
    if request.param == "sqlite":
        store = SqliteTimeSeriesStore(tmp_path / "ts.db", tags)
        yield WriteBackend("sqlite", tags, store, lambda sigs: read_back(store, list(tags), sigs))
    elif request.param == "victoriametrics":
        server: VictoriaMetrics = request.getfixturevalue("victoria")
        # VictoriaMetrics has no InfluxQL, so no start-up check; the write path is the same
        config = InfluxConfig.parse(f"influxdb://vm-token@127.0.0.1:{server.port}?org=o&bucket=b")
        store = InfluxTimeSeriesStore(config, tags, verify=False, batch_lines=7)
        yield WriteBackend(
            "victoriametrics", tags, store, lambda _sigs: victoria_view(server, tags), server
        )
    else:
        url = influx2_url()
        assert url is not None
        clear_influx2(url)
        store = InfluxTimeSeriesStore(InfluxConfig.parse(url), tags, batch_lines=7)
        yield WriteBackend(
            "influxdb-2", tags, store, lambda sigs: read_back(store, list(tags), sigs)
        )
    store.close()
