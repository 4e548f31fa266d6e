"""One contract for every time-series backend (DESIGN §3, §7).

The read half runs on SQLite, on a real InfluxDB 1.6 and (when configured) on a real
InfluxDB 2; the write half on SQLite, on a real VictoriaMetrics and on that InfluxDB 2. The
same assertions hold on each, which is what makes the backends interchangeable.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from core.readings import Quality, Reading, ms_from_utc
from core.site import Site
from simulators.models import Plant
from storage import SqliteTimeSeriesStore, site_tags
from storage.influx_ts import InfluxTimeSeriesStore, line_protocol
from storage.timeseries import Bucket
from tests.contract.conftest import EPOCH, FAR_FUTURE, TAGS, ReadBackend, WriteBackend

T0 = datetime(2024, 3, 1, 8, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def good(eq: str, signal: str, seconds: float, value: float) -> Reading:
    return Reading(eq, signal, at(seconds), value)


# ---------------------------------------------------------------- reads


def test_no_data_reads_empty(read_backend: ReadBackend) -> None:
    store = read_backend.store
    assert store.latest(["pump-1", "tank-1"]) == {}
    assert store.latest([]) == {}
    assert store.history("pump-1", "running", EPOCH, FAR_FUTURE) == []
    assert store.history("pump-1", "running", EPOCH, FAR_FUTURE, timedelta(minutes=1)) == []


def test_unknown_series_read_empty(read_backend: ReadBackend) -> None:
    read_backend.load([good("pump-1", "running", 0, 1)])
    store = read_backend.store
    assert store.latest(["no-such-machine"]) == {}
    assert store.history("pump-1", "no_such_signal", EPOCH, FAR_FUTURE) == []
    assert store.history("no-such-machine", "running", EPOCH, FAR_FUTURE) == []
    assert store.history("pump-1", "no_such_signal", EPOCH, FAR_FUTURE, timedelta(hours=1)) == []
    assert store.history("pump-1", "running", at(10), at(20)) == []


def test_a_machine_missing_from_the_site_file_is_kept_not_lost(read_backend: ReadBackend) -> None:
    reading = good("ghost-9", "running", 0, 1)  # e.g. a device added before the site file
    read_backend.load([reading])
    assert read_backend.store.latest(["ghost-9"]) == {("ghost-9", "running"): reading}
    assert read_backend.store.history("ghost-9", "running", EPOCH, FAR_FUTURE) == [reading]


def test_latest_is_the_newest_reading_of_each_signal_with_quality_and_reason(
    read_backend: ReadBackend,
) -> None:
    read_backend.load(
        [
            good("pump-1", "outlet_pressure_mpa", 0, 0.41),
            good("pump-1", "outlet_pressure_mpa", 10, 0.42),
            good("pump-1", "running", 0, 1),
            good("pump-1", "running", 10, 0),
            good("pump-2", "running", 5, 1),
            good("tank-1", "level_m", 3, 2.25),
            good("泵 3,东", "current_a", 1, 12.5),
        ]
    )
    # later: one signal goes stale, one invalid with the value that failed its check
    read_backend.load(
        [
            Reading("pump-1", "running", at(20), None, Quality.STALE, "没有新数据 30s"),
            Reading("pump-2", "running", at(20), 7.0, Quality.INVALID, "out of range"),
            Reading("tank-1", "level_m", at(30), None, Quality.COMM_FAULT, None),
        ]
    )
    latest = read_backend.store.latest(["pump-1", "pump-2", "tank-1", "泵 3,东", "ghost"])
    assert latest == {
        ("pump-1", "outlet_pressure_mpa"): good("pump-1", "outlet_pressure_mpa", 10, 0.42),
        ("pump-1", "running"): Reading(
            "pump-1", "running", at(20), None, Quality.STALE, "没有新数据 30s"
        ),
        ("pump-2", "running"): Reading(
            "pump-2", "running", at(20), 7.0, Quality.INVALID, "out of range"
        ),
        ("tank-1", "level_m"): Reading("tank-1", "level_m", at(30), None, Quality.COMM_FAULT),
        ("泵 3,东", "current_a"): good("泵 3,东", "current_a", 1, 12.5),
    }
    # a good value after the stale marker is fresh again
    read_backend.load([good("pump-1", "running", 25, 1)])
    assert read_backend.store.latest(["pump-1"])[("pump-1", "running")] == good(
        "pump-1", "running", 25, 1
    )


def test_raw_history_is_start_inclusive_end_exclusive_with_every_quality(
    read_backend: ReadBackend,
) -> None:
    readings = [
        good("pump-1", "outlet_pressure_mpa", 0, 0.40),
        good("pump-1", "outlet_pressure_mpa", 1.5, 0.41),
        Reading("pump-1", "outlet_pressure_mpa", at(3), None, Quality.STALE, "stale 30s"),
        good("pump-1", "outlet_pressure_mpa", 4.001, 0.43),
        good("pump-1", "outlet_pressure_mpa", 5, 0.44),
        good("pump-1", "running", 2, 1),  # another signal of the same point layout
    ]
    read_backend.load(readings)
    got = read_backend.store.history("pump-1", "outlet_pressure_mpa", at(0), at(5))
    assert got == readings[:4]


def test_buckets_align_to_start_and_summarise_only_good_values(read_backend: ReadBackend) -> None:
    read_backend.load(
        [
            good("tank-1", "level_m", 7, 1.0),  # before start
            good("tank-1", "level_m", 10, 2.0),  # bucket [10, 70)
            good("tank-1", "level_m", 40, 4.0),
            Reading("tank-1", "level_m", at(50), 99.0, Quality.INVALID, "range"),
            Reading("tank-1", "level_m", at(60), None, Quality.STALE, "stale"),
            good("tank-1", "level_m", 69.999, 3.0),
            # nothing in [70, 130)
            good("tank-1", "level_m", 130, 5.0),  # bucket [130, 190)
            good("tank-1", "level_m", 200, 6.0),  # at end: excluded
        ]
    )
    got = read_backend.store.history("tank-1", "level_m", at(10), at(200), timedelta(minutes=1))
    assert len(got) == 2
    first, second = got
    assert isinstance(first, Bucket) and isinstance(second, Bucket)
    assert (first.start, first.count, first.min, first.max, first.last) == (at(10), 3, 2, 4, 3)
    assert first.mean == pytest.approx(3.0)
    assert second == Bucket(at(130), 1, 5.0, 5.0, 5.0, 5.0)


def test_rewriting_a_timestamp_replaces_the_reading(read_backend: ReadBackend) -> None:
    read_backend.load([good("pump-1", "current_a", 0, 10.0), good("pump-1", "running", 0, 1)])
    read_backend.load([good("pump-1", "current_a", 0, 11.0)])  # same series and time
    read_backend.load([good("pump-1", "current_a", 0, 11.0)])  # and again: idempotent
    stale = Reading("pump-1", "frequency_hz", at(5), None, Quality.STALE, "first reason")
    read_backend.load([stale])
    read_backend.load([Reading("pump-1", "frequency_hz", at(5), None, Quality.STALE)])
    # a non-good reading replaces a good one at the same time
    read_backend.load([Reading("pump-1", "running", at(0), None, Quality.COMM_FAULT, "offline")])
    store = read_backend.store
    assert store.history("pump-1", "current_a", EPOCH, FAR_FUTURE) == [
        good("pump-1", "current_a", 0, 11.0)
    ]
    assert store.history("pump-1", "frequency_hz", EPOCH, FAR_FUTURE) == [
        Reading("pump-1", "frequency_hz", at(5), None, Quality.STALE, None)
    ]
    assert store.latest(["pump-1"])[("pump-1", "running")] == Reading(
        "pump-1", "running", at(0), None, Quality.COMM_FAULT, "offline"
    )
    buckets = store.history("pump-1", "running", EPOCH, FAR_FUTURE, timedelta(hours=1))
    if isinstance(store, InfluxTimeSeriesStore):
        # the one documented difference (storage/influx_ts.py): InfluxDB merges the fields of
        # equal timestamps, so the replaced good value still counts in its bucket
        assert buckets == [Bucket(at(0), 1, 1.0, 1.0, 1.0, 1.0)]
    else:
        assert buckets == []


def test_simulator_data_reads_exactly_as_on_sqlite(
    read_backend: ReadBackend, site: Site, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A few minutes of the plant simulator: every read agrees with the SQLite reference."""
    readings = simulated_readings(site, steps=40)
    reference = SqliteTimeSeriesStore(tmp_path_factory.mktemp("ref") / "ts.db", site_tags(site))
    reference.write(readings)
    read_backend.load(readings)
    store = read_backend.store
    ids = [eq.id for eq in site.equipment]
    assert store.latest(ids) == reference.latest(ids)
    start, end = at(15), at(150)
    for eq, signal in sorted({(r.equipment, r.signal) for r in readings}):
        assert store.history(eq, signal, start, end) == reference.history(eq, signal, start, end)
        assert_buckets_equal(
            store.history(eq, signal, start, end, timedelta(seconds=25)),
            reference.history(eq, signal, start, end, timedelta(seconds=25)),
        )
    reference.close()


def simulated_readings(site: Site, steps: int, dt: float = 5.0) -> list[Reading]:
    plant = Plant(site, seed=7)
    out: list[Reading] = []
    for i in range(steps):
        plant.step(dt, hour_of_day=8.0)
        ts = at(i * dt)
        for eq, values in plant.values().items():
            out.extend(Reading(eq, s, ts, float(v)) for s, v in values.items())
        if i == steps // 2:  # one machine drops out for a moment (replaces its good value)
            out.append(
                Reading("pump-fire-1", "outlet_pressure_mpa", ts, None, Quality.STALE, "超时")
            )
    return out


def assert_buckets_equal(got: object, want: object) -> None:
    assert isinstance(got, list) and isinstance(want, list)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert (g.start, g.count, g.min, g.max, g.last) == (w.start, w.count, w.min, w.max, w.last)
        assert math.isclose(g.mean, w.mean, rel_tol=1e-12, abs_tol=1e-12)


# ---------------------------------------------------------------- writes


def test_written_values_are_stored_per_machine_and_signal(write_backend: WriteBackend) -> None:
    readings = [
        good("pump-1", "outlet_pressure_mpa", 0, 0.42),
        good("pump-1", "running", 0, 1),
        good("pump-1", "outlet_pressure_mpa", 1.25, 0.4375),
        good("tank-1", "level_m", 0, 2.5),
        good("泵 3,东", "current_a", 2, 12.0),
    ]
    write_backend.store.write(readings)
    assert write_backend.stored(["outlet_pressure_mpa", "running", "level_m", "current_a"]) == {
        ("pump-1", "outlet_pressure_mpa"): {
            ms_from_utc(at(0)): 0.42,
            ms_from_utc(at(1.25)): 0.4375,
        },
        ("pump-1", "running"): {ms_from_utc(at(0)): 1.0},
        ("tank-1", "level_m"): {ms_from_utc(at(0)): 2.5},
        ("泵 3,东", "current_a"): {ms_from_utc(at(2)): 12.0},
    }


def test_values_that_are_not_good_never_land_in_the_signal(write_backend: WriteBackend) -> None:
    write_backend.store.write(
        [
            good("pump-1", "current_a", 0, 10.0),
            Reading("pump-1", "current_a", at(1), None, Quality.STALE, "stale"),
            Reading("pump-1", "current_a", at(2), 999.0, Quality.INVALID, "out of range"),
        ]
    )
    stored = write_backend.stored(["current_a"])
    assert stored[("pump-1", "current_a")] == {ms_from_utc(at(0)): 10.0}
    if write_backend.victoria is not None:
        # VictoriaMetrics keeps only numeric fields: the invalid value sits beside the signal
        assert stored[("pump-1", "current_a_raw")] == {ms_from_utc(at(2)): 999.0}


def test_large_writes_go_in_batches_and_all_arrive(write_backend: WriteBackend) -> None:
    readings = [good("pump-2", "frequency_hz", i * 0.5, float(i)) for i in range(50)]
    write_backend.store.write(readings)  # the Influx stores here send 7 lines per request
    assert write_backend.stored(["frequency_hz"]) == {
        ("pump-2", "frequency_hz"): {ms_from_utc(r.ts): r.value for r in readings}
    }


def test_tags_follow_the_site_layout(write_backend: WriteBackend) -> None:
    """measurement = kind; tags site, building, equipment (DESIGN §7), escaping included."""
    write_backend.store.write(
        [good("泵 3,东", "current_a", 0, 1.0), good("tank-1", "level_m", 0, 1.0)]
    )
    if write_backend.victoria is None:
        assert write_backend.stored(["current_a", "level_m"]).keys() == {
            ("泵 3,东", "current_a"),
            ("tank-1", "level_m"),
        }
        return
    site = write_backend.tags["tank-1"].site
    labels = {
        name: dict(lbls) for name, lbls in write_backend.victoria.series(f'{{site="{site}"}}')
    }
    assert labels == {
        "pump_current_a": {"site": site, "building": "1号楼,东=A", "equipment": "泵 3,东"},
        "water_tank_level_m": {"site": site, "building": "b1", "equipment": "tank-1"},
    }


def test_line_protocol_is_one_point_per_machine_and_time() -> None:
    tags = {"pump-1": TAGS["pump-1"]}
    lines = line_protocol(
        [
            good("pump-1", "running", 0, 1),
            good("pump-1", "outlet_pressure_mpa", 0, 0.42),
            Reading("pump-1", "current_a", at(0), None, Quality.STALE, 'say "hi"'),
            good("pump-1", "running", 1, 0),
            good("pump-1", "running", 1, 1),  # later in the batch wins
        ],
        tags,
    )
    ms = ms_from_utc(at(0))
    assert lines == [
        "pump,building=b1,equipment=pump-1,site=lakeside "
        'current_a_quality="stale",current_a_reason="say \\"hi\\"",outlet_pressure_mpa=0.42,'
        f"running=1 {ms}",
        f"pump,building=b1,equipment=pump-1,site=lakeside running=1 {ms + 1000}",
    ]


def test_raw_history_pages_by_limit_and_time_cursor(read_backend: ReadBackend) -> None:
    readings = [good("pump-1", "outlet_pressure_mpa", s, 0.4 + s / 100) for s in range(7)]
    readings[3] = Reading("pump-1", "outlet_pressure_mpa", at(3), None, Quality.STALE, "stale")
    read_backend.load([*readings, good("pump-1", "running", 0.5, 1)])
    store = read_backend.store
    assert store.history("pump-1", "outlet_pressure_mpa", at(0), at(10), limit=3) == readings[:3]
    # the next page starts at the first reading left out, so pages neither overlap nor skip
    pages, after = [], at(0)
    while True:
        page = store.history("pump-1", "outlet_pressure_mpa", after, at(10), limit=3)
        pages.append(page[:2])
        if len(page) < 3:
            break
        after = page[2].ts
    assert [r for p in pages for r in p] == readings
    assert store.history("pump-1", "outlet_pressure_mpa", at(0), at(10), limit=100) == readings
    assert store.history("pump-1", "outlet_pressure_mpa", at(2), at(5), limit=2) == readings[2:4]
