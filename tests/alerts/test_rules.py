"""Rules are data: defaults per kind, overridable per site and per machine, checked on load."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import yaml

from core.catalogue import load_catalogue
from core.rules import DEFAULT_DEADLINES, TicketClass, default_rules, effective_rules
from core.site import SiteError, parse_site
from tests.alerts.rig import SITE_FILE


def raw_site() -> Any:
    return yaml.safe_load(SITE_FILE.read_text(encoding="utf-8"))


def rules_of(site_raw: Any, eq_id: str) -> dict[str, Any]:
    site = parse_site(site_raw)
    eq = site.machine(eq_id)
    signals = set(load_catalogue().kind(eq.kind).signals)
    return {
        r.id: r for r in effective_rules(eq.kind, eq.role, site.alerts.rules, eq.rules, signals)
    }


def test_defaults_cover_the_issue_list() -> None:
    ids = {r.id for r in default_rules()}
    for rule_id in (
        "pump_trip",
        "dry_running",
        "short_cycling",
        "failure_to_start",
        "tank_low",
        "tank_high",
        "tank_overflow",
        "fire_tank_low",
        "sump_high",
        "entrapment",
        "elevator_fault",
        "out_of_service",
        "fire_alarm",
        "fire_panel_fault",
        "mains_fail",
        "battery_fail",
        "comms_loss",
        "gateway_down",
        "no_data",
        "store_down",
    ):
        assert rule_id in ids
    assert DEFAULT_DEADLINES[TicketClass.ENTRAPMENT].respond == timedelta(minutes=5)


def test_roles_pick_the_tank_rules() -> None:
    raw = raw_site()
    assert "sump_high" in rules_of(raw, "sump-1") and "tank_low" not in rules_of(raw, "sump-1")
    assert "fire_tank_low" in rules_of(raw, "tank-fire")
    assert "tank_low" in rules_of(raw, "tank-1") and "sump_high" not in rules_of(raw, "tank-1")


def test_site_and_machine_overrides() -> None:
    raw = raw_site()
    raw["alerts"]["rules"] = {"dry_running": {"for": "5s"}}
    raw["alerts"]["deadlines"] = {"general": {"on_site": "8h"}}
    raw["equipment"][0]["rules"] = {
        "short_cycling": {"enabled": False},
        "low_current": {
            "kind": "pump",
            "name": "电流过低",
            "when": {"type": "threshold", "signal": "current_a", "below": 2, "clear": 3},
        },
    }
    rules = rules_of(raw, "pump-1")
    assert rules["dry_running"].for_ == timedelta(seconds=5)
    assert "short_cycling" not in rules and "low_current" in rules
    assert "short_cycling" in rules_of(raw, "gw-pump-a")
    config = parse_site(raw).alerts.deadlines_for(TicketClass.GENERAL)
    assert config.on_site == timedelta(hours=8) and config.resolve == timedelta(hours=48)


def test_bad_rules_are_reported_with_their_path() -> None:
    raw = raw_site()
    raw["equipment"][0]["rules"] = {
        "pump_trip": {"when": {"type": "state", "signal": "no_such_signal", "is": True}},
    }
    raw["alerts"]["rules"] = {"dry_running": {"for": "soon"}}
    with pytest.raises(SiteError) as err:
        parse_site(raw)
    text = "\n".join(err.value.errors)
    assert "alerts.rules.dry_running.for" in text
    raw["alerts"]["rules"] = {}
    with pytest.raises(SiteError) as err:
        parse_site(raw)
    assert err.value.errors == [
        "equipment[0] (pump-1) alert rule pump_trip: kind pump has no signal 'no_such_signal'"
    ]
