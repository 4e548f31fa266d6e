"""Golden cases for the hand-written line-protocol serialiser, and a property test holding it
to influxdb-client's ``Point`` (the reference it replaced) on any text and any float."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from influxdb_client.client.write.point import Point
from influxdb_client.domain.write_precision import WritePrecision

from core.readings import Quality, Reading, ms_from_utc
from storage.influx_ts import line_protocol
from storage.timeseries import SeriesTags

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
MS = ms_from_utc(T0)


def _one(reading: Reading, tags: dict[str, SeriesTags]) -> str:
    (line,) = line_protocol([reading], tags)
    return line


GOLDEN = [
    (
        "spaces in tags, measurement and field key",
        SeriesTags("lake side", "tower 1", "water tank"),
        "tank 1",
        "level m",
        2.5,
        None,
        rf"water\ tank,building=tower\ 1,equipment=tank\ 1,site=lake\ side level\ m=2.5 {MS}",
    ),
    (
        "commas and equals signs",
        SeriesTags("a,b", "x=y", "k,=ind"),
        "p=1,2",
        "sig,=x",
        1.0,
        None,
        rf"k\,=ind,building=x\=y,equipment=p\=1\,2,site=a\,b sig\,\=x=1 {MS}",
    ),
    (
        "Chinese names are written as they are",
        SeriesTags("湖畔花园", "1号楼", "pump"),
        "生活泵-1",
        "出口压力",
        0.42,
        None,
        f"pump,building=1号楼,equipment=生活泵-1,site=湖畔花园 出口压力=0.42 {MS}",
    ),
    (
        "newlines, tabs and CR in tags are escaped, never a line break",
        SeriesTags("s\nx", "b\tc", "pump"),
        "e\r1",
        "running",
        0.0,
        None,
        rf"pump,building=b\tc,equipment=e\r1,site=s\nx running=0 {MS}",
    ),
    (
        "quotes and backslashes in a string field",
        SeriesTags("s", "b", "pump"),
        "p1",
        "current_a",
        None,
        'sensor said "open\\short"',
        rf'pump,building=b,equipment=p1,site=s current_a_quality="invalid",'
        rf'current_a_reason="sensor said \"open\\short\"" {MS}',
    ),
    (
        "a tag value ending in a backslash gets a space (as influxdb-client writes it)",
        SeriesTags("s", "b\\", "pump"),
        "p1",
        "running",
        1.0,
        None,
        f"pump,building=b\\ ,equipment=p1,site=s running=1 {MS}",
    ),
    (
        "an empty tag is left out; floats are shortest round-trip",
        SeriesTags("", "b", "pump"),
        "p1",
        "frequency_hz",
        0.1 + 0.2,
        None,
        f"pump,building=b,equipment=p1 frequency_hz=0.30000000000000004 {MS}",
    ),
]


def test_golden_escaping() -> None:
    for name, tags, equipment, signal, value, reason, expected in GOLDEN:
        quality = Quality.GOOD if reason is None else Quality.INVALID
        reading = Reading(equipment, signal, T0, value, quality, reason)
        assert _one(reading, {equipment: tags}) == expected, name
        assert expected == _reference(reading, tags), name


def test_a_machine_not_in_the_site_file_goes_to_unknown() -> None:
    line = _one(Reading("ghost 1", "x", T0, 3.0), {})
    assert line == rf"unknown,equipment=ghost\ 1 x=3 {MS}"


def test_nan_and_infinity_have_no_field() -> None:
    tags = {"p1": SeriesTags("s", "b", "pump")}
    assert line_protocol([Reading("p1", "x", T0, math.nan)], tags) == []
    readings = [Reading("p1", "x", T0, math.inf), Reading("p1", "y", T0, 1e16)]
    assert line_protocol(readings, tags) == [f"pump,building=b,equipment=p1,site=s y=1e+16 {MS}"]


def test_a_stale_reading_replaces_a_good_one_of_the_same_time_in_one_batch() -> None:
    tags = {"p1": SeriesTags("s", "b", "pump")}
    readings = [
        Reading("p1", "x", T0, 1.0),
        Reading("p1", "x", T0, 2.5, Quality.STALE, None),
        Reading("p1", "x", T0 + timedelta(milliseconds=1), 4.0),
    ]
    assert line_protocol(readings, tags) == [
        f'pump,building=b,equipment=p1,site=s x_quality="stale",x_raw=2.5,x_reason="" {MS}',
        f"pump,building=b,equipment=p1,site=s x=4 {MS + 1}",
    ]


def _reference(reading: Reading, tags: SeriesTags) -> str:
    """What influxdb-client's ``Point`` writes for one reading (the layout of DESIGN §7)."""
    point = Point(tags.kind)  # type: ignore[no-untyped-call]
    point.time(ms_from_utc(reading.ts), WritePrecision.MS)
    for key, value in (
        ("site", tags.site),
        ("building", tags.building),
        ("equipment", reading.equipment),
    ):
        point.tag(key, value)
    if reading.quality is Quality.GOOD:
        point.field(reading.signal, reading.value)
    else:
        point.field(reading.signal + "_quality", reading.quality.value)
        point.field(reading.signal + "_reason", reading.reason or "")
        if reading.value is not None:
            point.field(reading.signal + "_raw", reading.value)
    line: str = point.to_line_protocol(WritePrecision.MS)
    return line


names = st.text(min_size=1, max_size=12).filter(lambda t: not t.startswith("#"))


@given(
    site=st.text(max_size=8),
    building=st.text(max_size=8),
    kind=names,
    equipment=names,
    signal=names,
    value=st.floats(allow_nan=False, allow_infinity=False) | st.none(),
    reason=st.text(max_size=20) | st.none(),
)
def test_same_line_as_influxdb_client(
    site: str,
    building: str,
    kind: str,
    equipment: str,
    signal: str,
    value: float | None,
    reason: str | None,
) -> None:
    tags = SeriesTags(site, building, kind)
    quality = Quality.GOOD if value is not None and reason is None else Quality.INVALID
    reading = Reading(equipment, signal, T0, value, quality, reason)
    assert line_protocol([reading], {equipment: tags}) == [_reference(reading, tags)]
