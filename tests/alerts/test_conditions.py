"""Conditions over the latest readings and a short history; stale data is never fresh."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from alerts.conditions import MachineView, evaluate
from core.readings import Quality, Reading
from core.rules import Rule

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)


def when(raw: dict[str, Any]) -> Any:
    return Rule.model_validate({"id": "r", "kind": "pump", "name": "r", "when": raw}).when


def view(**values: float | None) -> MachineView:
    latest = {
        name: Reading("p", name, NOW, value)
        if value is not None
        else Reading("p", name, NOW, None, Quality.COMM_FAULT)
        for name, value in values.items()
    }
    return MachineView(latest=latest, watched_since=NOW - timedelta(hours=1))


def test_threshold_hysteresis() -> None:
    low = when({"type": "threshold", "signal": "p", "below": 0.05, "clear": 0.08})
    assert evaluate(low, view(p=0.04), NOW, active=False) is True
    assert evaluate(low, view(p=0.06), NOW, active=False) is False
    assert evaluate(low, view(p=0.06), NOW, active=True) is True  # not yet past clear
    assert evaluate(low, view(p=0.09), NOW, active=True) is False


def test_bad_quality_or_old_values_are_unknown_not_false() -> None:
    state = when({"type": "state", "signal": "fault", "is": True})
    assert evaluate(state, view(fault=None), NOW, active=False) is None
    old = MachineView(latest={"fault": Reading("p", "fault", NOW - timedelta(minutes=5), 1.0)})
    assert evaluate(state, old, NOW, active=False) is None
    both = when(
        {
            "type": "all",
            "of": [
                {"type": "state", "signal": "running", "is": True},
                {"type": "state", "signal": "fault", "is": True},
            ],
        }
    )
    assert evaluate(both, view(running=0, fault=None), NOW, active=False) is False
    assert evaluate(both, view(running=1, fault=None), NOW, active=False) is None


def test_stale_after_and_declared_comm_fault() -> None:
    stale = when({"type": "stale", "after": "60s"})
    assert evaluate(stale, view(running=None, fault=None), NOW, False) is True
    assert evaluate(stale, view(running=1), NOW, False) is False
    silent = MachineView(
        latest={"running": Reading("p", "running", NOW - timedelta(seconds=90), 1.0)},
        watched_since=NOW - timedelta(hours=1),
    )
    assert evaluate(stale, silent, NOW, False) is True
    # never blame a machine for silence from before the engine was watching
    just_started = MachineView(latest=silent.latest, watched_since=NOW - timedelta(seconds=10))
    assert evaluate(stale, just_started, NOW, False) is False


def test_rate_and_count_over_history() -> None:
    points = [(NOW - timedelta(minutes=m), 50.0 - 2 * (5 - m)) for m in range(5, -1, -1)]
    dropping = MachineView(latest={}, history={"level_pct": points})
    fast = when({"type": "rate", "signal": "level_pct", "per": "1m", "below": -1.5})
    assert evaluate(fast, dropping, NOW, False) is True
    starts = [(NOW - timedelta(minutes=70), 10.0)] + [
        (NOW - timedelta(minutes=55 - 8 * i), 11.0 + i) for i in range(7)
    ]
    cycling = MachineView(latest={}, history={"starts": starts})
    count = when({"type": "count", "signal": "starts", "window": "1h", "above": 6})
    assert evaluate(count, cycling, NOW, False) is True
    assert (
        evaluate(count, MachineView(latest={}, history={"starts": starts[:5]}), NOW, False) is False
    )


def test_clock_is_the_sites_local_time_and_may_cross_midnight() -> None:
    from zoneinfo import ZoneInfo

    night = when({"type": "clock", "start": "23:00", "end": "05:00"})
    shanghai = MachineView(latest={}, tz=ZoneInfo("Asia/Shanghai"))
    # 12:00 UTC is 20:00 in Shanghai; 18:00 UTC is 02:00 the next morning there
    assert evaluate(night, shanghai, NOW, active=False) is False
    assert evaluate(night, shanghai, NOW + timedelta(hours=6), active=False) is True
    assert evaluate(night, MachineView(latest={}), NOW, active=False) is False  # noon UTC


def test_peers_any_all_none_over_the_rest_of_the_group() -> None:
    running = {"type": "state", "signal": "running", "is": True}
    none_running = when({"type": "peers", "match": "none", "where": running})
    any_running = when({"type": "peers", "match": "any", "where": running})
    all_running = when({"type": "peers", "match": "all", "where": running})

    def group(*states: float | None) -> MachineView:
        return MachineView(
            latest={}, peers={f"p{i}": view(running=s) for i, s in enumerate(states)}
        )

    assert evaluate(none_running, group(0, 0), NOW, False) is True
    assert evaluate(none_running, group(0, 1), NOW, False) is False
    assert evaluate(any_running, group(0, 1), NOW, False) is True
    assert evaluate(all_running, group(0, 1), NOW, False) is False
    assert evaluate(all_running, group(1, 1), NOW, False) is True
    # a peer we cannot see might be the one running: unknown, never "none running"
    assert evaluate(none_running, group(0, None), NOW, False) is None
    assert evaluate(any_running, group(1, None), NOW, False) is True


def test_peers_read_latest_values_only() -> None:
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="latest values only"):
        when(
            {
                "type": "peers",
                "match": "any",
                "where": {"type": "count", "signal": "starts", "above": 3},
            }
        )
