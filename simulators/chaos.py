"""The demo's occasional random fault: a seeded schedule of faults, each cleared later.

It is a scenario like any other, generated rather than written, so the demo exercises the
same path as the scenario library: every few minutes one machine gets a fault that the
alert rules should catch, and a couple of minutes later the fault clears.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from core.site import Site
from simulators.scenario import Scenario, Step

# (kind, fault, params): faults that show the whole chain and recover by themselves
DEMO_FAULTS: list[tuple[str, str, dict[str, Any]]] = [
    ("pump", "trip", {"code": 12}),
    ("pump", "short_cycle", {"on_s": 15, "off_s": 15}),
    ("pump", "dry_run", {}),
    ("water_tank", "flapping_switch", {"switch": "high_level", "period": 10}),
    ("water_tank", "leak", {"rate_m3h": 30}),
    ("elevator", "entrapment", {}),
    ("elevator", "controller_fault", {"code": 23}),
    ("elevator", "door_fault", {"code": 41}),
    ("fire_panel", "supervisory", {}),
    ("fire_panel", "panel_fault", {}),
    ("fire_panel", "mains_fail", {}),
    ("fire_panel", "fire_pump_manual", {}),
    ("water_tank", "water_quality", {"turbidity_ntu": 1.5}),
    ("flood_sensor", "flood", {}),
    ("power", "mains_fail", {}),
    ("generator", "battery_low", {"battery_v": 22.0}),
    ("energy_meter", "leak", {"flow_m3h": 3.0}),
    ("*", "comms_loss", {"drop_connection": True}),
]


def chaos_scenario(
    site: Site,
    seed: int | str = 1,
    horizon: timedelta = timedelta(days=7),
    every: tuple[float, float] = (120.0, 300.0),
    hold: tuple[float, float] = (60.0, 150.0),
) -> Scenario:
    """One fault every ``every`` seconds (uniform in the range), held ``hold`` seconds."""
    rng = random.Random(f"{seed}:chaos")
    machines = [eq for eq in site.equipment if eq.simulation.enabled]
    choices = [
        (eq, fault, params)
        for kind, fault, params in DEMO_FAULTS
        for eq in machines
        if (kind == eq.kind or kind == "*")
        and not (fault == "comms_loss" and eq.source.mqtt is None)
    ]
    steps: list[Step] = []
    at = rng.uniform(*every)
    while choices and at < horizon.total_seconds():
        eq, fault, params = rng.choice(choices)
        cleared = at + rng.uniform(*hold)
        steps.append(Step(at=timedelta(seconds=at), equipment=eq.id, inject=fault, params=params))
        steps.append(Step(at=timedelta(seconds=cleared), equipment=eq.id, clear=fault))
        at = cleared + rng.uniform(*every)
    return Scenario(
        name="chaos",
        description="the demo's occasional random fault",
        duration=horizon,
        steps=steps,
    )
