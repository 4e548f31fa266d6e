"""Shifts from the site file: validation with paths, and which shift a moment falls in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from core.shifts import ShiftsConfig, ended_between, previous, shift_at, windows_between
from core.site import Site, SiteError, parse_site

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _site(shifts: Any) -> dict[str, Any]:
    return {
        "site": {"id": "s", "name": "站", "timezone": "Asia/Shanghai"},
        "buildings": [{"id": "b1", "name": "1号楼"}],
        "equipment": [
            {
                "id": "tank",
                "kind": "water_tank",
                "name": "水箱",
                "building": "b1",
                "source": {"mqtt": {}},
            }
        ],
        "shifts": shifts,
    }


def test_example_site_has_a_two_shift_rota(site: Site) -> None:
    assert site.shifts is not None
    assert [(s.name, s.hours) for s in site.shifts.rota] == [
        ("白班", "08:00-20:00"),
        ("夜班", "20:00-08:00"),
    ]
    assert site.shifts.handover_grace == timedelta(minutes=30)


@pytest.mark.parametrize(
    ("rota", "error"),
    [
        (
            [{"name": "白班", "hours": "08:00-20:00"}],
            "shifts.rota: 00:00-08:00 is not covered by any shift",
        ),
        (
            [{"name": "白班", "hours": "08:00-20:00"}, {"name": "夜班", "hours": "19:00-08:00"}],
            "shifts.rota: 19:00-20:00 is covered by two shifts",
        ),
        (
            [{"name": "白班", "hours": "8-20"}],
            "shifts.rota[0].hours: Value error, expected HH:MM-HH:MM",
        ),
        (
            [{"name": "A", "hours": "00:00-12:00"}, {"name": "A", "hours": "12:00-00:00"}],
            "shifts.rota[1].name: duplicate shift name 'A'",
        ),
        (
            [{"name": "全天", "hours": "08:00-08:00"}, {"name": "B", "hours": "09:00-10:00"}],
            "shifts.rota: 09:00-10:00 is covered by two shifts",
        ),
    ],
)
def test_a_bad_rota_is_reported_with_its_path(rota: list[dict[str, str]], error: str) -> None:
    with pytest.raises(SiteError) as caught:
        parse_site(_site({"rota": rota}))
    assert any(e.startswith(error) for e in caught.value.errors), caught.value.errors


def test_unknown_keys_and_bad_grace_are_errors() -> None:
    with pytest.raises(SiteError) as caught:
        parse_site(_site({"rota": [{"name": "A", "hours": "00:00-00:01"}], "grace": "1h"}))
    assert any(e.startswith("shifts.grace: Extra inputs") for e in caught.value.errors)
    with pytest.raises(SiteError) as caught:
        parse_site(_site({"rota": [{"name": "A", "hours": "06:00-06:00"}], "handover_grace": "2d"}))
    assert caught.value.errors == ["shifts.handover_grace: must be between 0s and 12h"]
    one = parse_site(_site({"rota": [{"name": "全天", "hours": "06:00-06:00"}]})).shifts
    assert one is not None
    w = shift_at(one, SHANGHAI, datetime(2026, 3, 2, 5, 0, tzinfo=SHANGHAI))
    assert (w.start.day, w.end.day, w.end - w.start) == (1, 2, timedelta(days=1))


def _three() -> ShiftsConfig:
    return ShiftsConfig.model_validate(
        {
            "rota": [
                {"name": "早班", "hours": "00:30-08:30"},
                {"name": "中班", "hours": "08:30-16:30"},
                {"name": "晚班", "hours": "16:30-00:30"},
            ]
        }
    )


def test_which_shift_a_moment_is_in() -> None:
    rota = _three()
    local = datetime(2026, 3, 2, 0, 10, tzinfo=SHANGHAI)  # before 00:30: yesterday's 晚班
    w = shift_at(rota, SHANGHAI, local)
    assert (w.name, w.start, w.end) == (
        "晚班",
        datetime(2026, 3, 1, 16, 30, tzinfo=SHANGHAI),
        datetime(2026, 3, 2, 0, 30, tzinfo=SHANGHAI),
    )
    at_change = shift_at(rota, SHANGHAI, datetime(2026, 3, 2, 8, 30, tzinfo=SHANGHAI))
    assert at_change.name == "中班"  # a shift's start belongs to it, its end to the next
    assert previous(rota, SHANGHAI, at_change).name == "早班"
    # from UTC input the answer is the same
    assert shift_at(rota, SHANGHAI, local.astimezone(UTC)) == w


def test_shifts_ending_in_a_span_and_windows_tile_the_day() -> None:
    rota = _three()
    start = datetime(2026, 3, 2, 0, 0, tzinfo=SHANGHAI)
    ended = ended_between(rota, SHANGHAI, start, start + timedelta(days=1))
    assert [(w.name, w.end.strftime("%d %H:%M")) for w in ended] == [
        ("晚班", "02 00:30"),
        ("早班", "02 08:30"),
        ("中班", "02 16:30"),
    ]
    windows = windows_between(rota, SHANGHAI, start, start + timedelta(days=2))
    for a, b in pairwise(windows):
        assert a.end == b.start
    assert len({w.key for w in windows}) == len(windows)
