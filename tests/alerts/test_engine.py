"""The pure alert state machine: time is passed in, nothing else moves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alerts.engine import AlertState, Change, Inputs, Status, evaluate
from core.rules import Flapping

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def run(
    state: AlertState, steps: list[tuple[float, bool | None]], **kw: object
) -> tuple[AlertState, list[Change]]:
    changes: list[Change] = []
    for seconds, condition in steps:
        inputs = Inputs(condition, **kw)  # type: ignore[arg-type]
        state, transitions = evaluate(state, inputs, T0 + timedelta(seconds=seconds))
        changes += [t.change for t in transitions]
    return state, changes


def test_for_duration_goes_pending_then_firing_once() -> None:
    hold = timedelta(seconds=30)
    state, changes = run(
        AlertState.new("dry_running", "pump-1"),
        [(0, True), (10, True), (29.9, True), (30, True), (31, True)],
        hold_for=hold,
    )
    assert changes == [Change.PENDING, Change.FIRING]
    assert state.status is Status.FIRING and state.episode == 1
    assert state.pending_since == T0 and state.firing_since == T0 + hold


def test_pending_that_clears_never_fires() -> None:
    state, changes = run(
        AlertState.new("r", "m"), [(0, True), (5, False), (40, False)], hold_for=timedelta(30)
    )
    assert changes == [Change.PENDING, Change.CANCELLED]
    assert state.status is Status.INACTIVE and state.episode == 0


def test_evaluating_twice_changes_nothing() -> None:
    state, _ = run(AlertState.new("r", "m"), [(0, True)])
    again, transitions = evaluate(state, Inputs(True), T0)
    assert again == state and transitions == []


def test_unknown_data_holds_the_state() -> None:
    state, changes = run(AlertState.new("r", "m"), [(0, True), (5, None), (10, None)])
    assert changes == [Change.FIRING]
    assert state.status is Status.FIRING
    pending, changes = run(
        AlertState.new("r", "m"), [(0, True), (40, None)], hold_for=timedelta(seconds=30)
    )
    assert pending.status is Status.PENDING  # no fresh evidence, so it cannot complete `for`


def test_new_episode_after_resolve() -> None:
    state, changes = run(AlertState.new("r", "m"), [(0, True), (5, False), (100, True)])
    assert changes == [Change.FIRING, Change.RESOLVED, Change.FIRING]
    assert state.episode == 2


def test_flapping_becomes_one_firing_alert_until_steady() -> None:
    flapping = Flapping(changes=4, window=timedelta(minutes=10))
    steps = [(i * 5.0, i % 2 == 0) for i in range(20)]  # toggles every 5 s
    state, changes = run(
        AlertState.new("tank_high", "tank-1"),
        steps,
        hold_for=timedelta(seconds=10),
        flapping=flapping,
    )
    assert changes.count(Change.FIRING) == 1 and Change.FLAPPING in changes
    assert state.status is Status.FIRING and state.flapping
    # steady (false) for longer than the window: judged normally again, and resolves
    state, changes = run(state, [(100 + 700, False)], flapping=flapping)
    assert changes == [Change.RESOLVED] and not state.flapping


def test_suppressed_fires_without_paging_then_pages_when_maintenance_ends() -> None:
    state, transitions = evaluate(AlertState.new("r", "m"), Inputs(True, suppressed=True), T0)
    assert [t.change for t in transitions] == [Change.FIRING]
    assert not transitions[0].pages and not state.paged
    state, transitions = evaluate(state, Inputs(True, suppressed=True), T0 + timedelta(1))
    assert transitions == []
    state, transitions = evaluate(state, Inputs(True), T0 + timedelta(seconds=2))
    assert [t.change for t in transitions] == [Change.PAGED] and transitions[0].pages


def test_an_alerts_time_is_its_causes_time() -> None:
    # the trip reading was taken at T0 + 1 s (the device's clock is a second ahead of the
    # engine's, or it was stored a moment before this step): the alert is stamped with it
    trip = T0 + timedelta(seconds=1)
    state, out = evaluate(AlertState.new("pump_trip", "p"), Inputs(True, observed_at=trip), T0)
    assert [(t.change, t.at) for t in out] == [(Change.FIRING, trip)]
    assert state.firing_since == trip
    cleared = T0 + timedelta(seconds=20)
    state, out = evaluate(state, Inputs(False, observed_at=cleared), T0 + timedelta(seconds=25))
    assert [(t.change, t.at) for t in out] == [(Change.RESOLVED, cleared)]
    # with a hold: pending from the reading, firing once it had held (the engine was late)
    hold = timedelta(seconds=30)
    dry = AlertState.new("dry_running", "p")
    dry, out = evaluate(dry, Inputs(True, hold, observed_at=T0), T0 + timedelta(seconds=2))
    assert [(t.change, t.at) for t in out] == [(Change.PENDING, T0)]
    dry, out = evaluate(dry, Inputs(True, hold, observed_at=T0), T0 + timedelta(seconds=45))
    assert [(t.change, t.at) for t in out] == [(Change.FIRING, T0 + hold)]
