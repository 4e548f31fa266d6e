"""The site calendar: "one working day" skips weekends and public holidays and counts
make-up working days (调休上班); a resolved cycle's callback is due by it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from core.calendar import Calendar, one_working_day_after
from core.site import parse_site, ticket_policy

SHANGHAI = ZoneInfo("Asia/Shanghai")
# 2026 National Day: 1-7 October off, Saturday 10 October worked instead
NATIONAL_DAY = Calendar(
    holidays=frozenset(date(2026, 10, d) for d in range(1, 8)),
    workdays=frozenset({date(2026, 10, 10)}),
)


def _local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]


def test_weekends_and_holidays_are_skipped_make_up_days_count() -> None:
    plain = Calendar()
    assert one_working_day_after(_local(2026, 3, 6, 18, 30), SHANGHAI, plain) == _local(
        2026, 3, 9, 18, 30
    )  # Friday evening: Monday
    assert one_working_day_after(_local(2026, 9, 30, 9, 0), SHANGHAI, NATIONAL_DAY) == _local(
        2026, 10, 8, 9, 0
    )  # the eve of the holiday: the Thursday after it
    assert one_working_day_after(_local(2026, 10, 9, 16, 0), SHANGHAI, NATIONAL_DAY) == _local(
        2026, 10, 10, 16, 0
    )  # Friday before the make-up Saturday
    # the local day counts, not the UTC one: 01:00 Tuesday in Shanghai is Monday in UTC
    monday_utc = datetime(2026, 3, 9, 17, 0, tzinfo=UTC)
    assert one_working_day_after(monday_utc, SHANGHAI, Calendar()) == _local(2026, 3, 11, 1, 0)


def test_the_site_file_calendar_reaches_the_ticket_policy(tmp_path: Path) -> None:
    raw = yaml.safe_load(
        (Path(__file__).parent.parent / "examples" / "site.yaml").read_text("utf-8")
    )
    raw["calendar"] = {"holidays": ["2026-10-01", "2026-10-02"], "workdays": ["2026-10-10"]}
    site = parse_site(raw, "site.yaml", base=Path(__file__).parent.parent / "examples")
    policy = ticket_policy(site)
    assert policy.calendar.is_working_day(date(2026, 10, 10))
    assert not policy.calendar.is_working_day(date(2026, 10, 2))
    assert policy.callback_due(_local(2026, 9, 30, 10, 0)) == _local(2026, 10, 5, 10, 0)
