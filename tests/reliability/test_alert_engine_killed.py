"""The alert engine SIGKILLed in the middle of a burst of 20 pump trips: after a restart there
is exactly one ticket per fault episode, none lost, none duplicated."""

from __future__ import annotations

import time
from pathlib import Path

from storage.tickets import alerts, tickets
from tests.reliability.alert_plant import PumpPlant, kill9, wait_for
from tests.servers.postgres import Postgres


def test_engine_killed_mid_burst_of_20_faults(tmp_path: Path, postgres: Postgres) -> None:
    plant = PumpPlant(tmp_path, postgres.create_database(), pumps=20)
    try:
        first = plant.start_engine()
        for pump in plant.pumps:  # 20 trips within one second
            plant.trip(pump)
            time.sleep(0.04)
        # kill while the tickets are being opened: some exist, not all
        wait_for("the first tickets", lambda: plant.rows(tickets), timeout=20)
        kill9(first)
        opened_before_kill = len(plant.rows(tickets))
        plant.start_engine()
        wait_for("a ticket per trip", lambda: len(plant.rows(tickets)) >= 20, timeout=30)
        for pump in plant.pumps:
            plant.clear(pump)
        wait_for("recovery", lambda: not plant.rows(tickets, tickets.c.fault_active))
        count = plant.count_tickets({pump: 1 for pump in plant.pumps})
        episodes = {a["episode"] for a in plant.rows(alerts, alerts.c.rule_id == "pump_trip")}
    finally:
        plant.close()
    print(f"engine killed: opened before kill={opened_before_kill} {count}")
    assert 0 < opened_before_kill < 20, opened_before_kill  # the kill really was mid-burst
    assert (count.lost, count.duplicated) == (0, 0), count
    assert episodes == {1}
