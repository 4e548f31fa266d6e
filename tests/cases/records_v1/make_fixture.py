"""Make the records DB of the release before migrations (commit 56f2a06), as a fixture.

Run once, from that commit's code, to produce ``records.sqlite`` and ``records.postgresql.sql``
(a ``pg_dump`` of the same data made on PostgreSQL). It is kept to show how the fixture was
made; the schema it relies on has since moved into migrations, so it no longer runs as is.

    python -m tests.cases.records_v1.make_fixture sqlite:///tests/cases/records_v1/records.sqlite
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from tempfile import mkdtemp

from core.tickets import Due
from storage import api_keys
from storage.records import DeadLetter
from storage.ticket_desk import ack_alert, open_manual_ticket
from storage.tickets import transition
from tests.alerts.rig import Rig, minutes


def make(url: str) -> None:
    """Drive the real alert engine and ticket desk through every kind of record."""
    rig = Rig(Path(mkdtemp()), url)
    rig.tick()
    rig.set("pump-1", fault=1)  # an urgent ticket, worked to closed, then reopened
    rig.tick(times=10)
    rig.set("lift-1", moving=0, door_zone=0, car_occupied=1)  # entrapment
    rig.tick(times=40)
    rig.set("panel-1", fire_alarm=1)  # an incident
    rig.tick(times=5)
    rig.set("panel-1", fire_alarm=0)
    rig.set("pump-1", fault=0)
    rig.tick(times=5)
    now = rig.clock.now()
    engine = rig.records.engine
    transition(engine, 1, "ack", "张工", now)
    transition(engine, 1, "on_site", "张工", now + minutes(5))
    transition(engine, 1, "resolve", "张工", now + minutes(20))
    transition(engine, 1, "close", "李主管", now + minutes(60))
    transition(engine, 1, "reopen", "李主管", now + minutes(90), reason="住户反映仍漏水")
    rig.clock.advance(3600 * 3)  # escalations of the entrapment ticket
    rig.tick()
    with engine.begin() as conn:
        ticket, _ = open_manual_ticket(
            conn,
            "tank-1",
            "general",
            "生活水箱 浮球阀漏水",
            "warning",
            Due(now + minutes(30), now + minutes(24 * 60), now + minutes(48 * 60)),
            "前台王",
            now,
            description="住户电话报修",
        )
        api_keys.create_key(conn, api_keys.Role.ENGINEER, "值班电脑", now)
        ack_alert(conn, rig.service.state("entrapment", "lift-1").fingerprint, "监控中心", now)
    transition(engine, int(ticket["id"]), "cancel", "前台王", now, reason="误报，已自行关闭")
    rig.records.add_dead_letters(
        [DeadLetter(datetime(2026, 3, 2, tzinfo=UTC), "mqtt", "plantroom/x/y", "bad json", b"{", 1)]
    )
    rig.close()


if __name__ == "__main__":
    make(sys.argv[1])
