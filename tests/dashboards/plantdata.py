"""Test data for the dashboards: a few hours of the plant simulator, as the store writes it.

Every machine of the site is simulated (``simulators.models.Plant``); every so often one step
of readings is stale, as a dropped-out device's would be, so quality panels have data too.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from core.readings import Quality, Reading
from core.site import Site
from simulators.models import Plant


def plant_readings(site: Site, start: datetime, steps: int, dt: float) -> list[Reading]:
    plant = Plant(site, seed=3)
    out: list[Reading] = []
    for i in range(steps):
        plant.step(dt, hour_of_day=(8 + i * dt / 3600) % 24)
        ts = start + timedelta(seconds=i * dt)
        simulated = plant.values()
        missing = {eq.id for eq in site.equipment} - simulated.keys()
        assert not missing, f"the simulator does not model {sorted(missing)}"
        stale = i % 17 == 5
        for eq, values in simulated.items():
            for signal, value in values.items():
                if stale:
                    out.append(Reading(eq, signal, ts, None, Quality.STALE, "no data for 30s"))
                else:
                    out.append(Reading(eq, signal, ts, float(value)))
    return out
