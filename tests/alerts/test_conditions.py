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
