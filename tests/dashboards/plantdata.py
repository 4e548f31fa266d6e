"""Test data for the dashboards: a few hours of the plant simulator, as the store writes it.

Machines the simulator models come from ``simulators.models.Plant``; for a kind it does not
model yet, every catalogue signal gets a plausible changing value, so that each panel has a
field to find. A few readings of each kind are stale, as a dropped-out device's would be.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from core.catalogue import SignalType, load_catalogue
from core.readings import Quality, Reading
from core.site import Site
from simulators.models import Plant


def plant_readings(site: Site, start: datetime, steps: int, dt: float) -> list[Reading]:
    catalogue = load_catalogue()
    plant = Plant(site, seed=3)
    out: list[Reading] = []
    for i in range(steps):
        plant.step(dt, hour_of_day=(8 + i * dt / 3600) % 24)
        ts = start + timedelta(seconds=i * dt)
        simulated = plant.values()
        for eq in site.equipment:
            values = simulated.get(eq.id)
            if values is None:
                signals = catalogue.kind(eq.kind).signals.values()
                values = {
                    s.name: (i // 7 + len(s.name)) % 2
                    if s.type is SignalType.BOOL
                    else (i // 5 + len(s.name)) % 9
                    if s.type in (SignalType.INT, SignalType.COUNTER)
                    else 20.0 + (i % 13) * 0.5
                    for s in signals
                }
            stale = i % 17 == 5
            for signal, value in values.items():
                if stale:
                    out.append(Reading(eq.id, signal, ts, None, Quality.STALE, "no data for 30s"))
                else:
                    out.append(Reading(eq.id, signal, ts, float(value)))
    return out
