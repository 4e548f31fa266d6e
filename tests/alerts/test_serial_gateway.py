"""gateway_down covers an RS-485 line as it covers a TCP gateway (was: the alert engine built
gateway identities from host and port only, so machines on a serial line had none)."""

from __future__ import annotations

from pathlib import Path

import yaml

from core.readings import Quality
from core.site import parse_site
from core.subjects import gateway_key, machines_of
from tests.alerts.rig import SITE_FILE, Rig


def test_machines_on_one_serial_line_share_a_gateway_and_its_root_cause_alert(
    tmp_path: Path,
) -> None:
    raw = yaml.safe_load(SITE_FILE.read_text("utf-8"))
    for eq in raw["equipment"]:
        modbus = eq["source"].get("modbus")
        if modbus is not None:  # the three gateway machines, now on one RS-485 line
            del modbus["host"], modbus["port"]
            modbus.update(framing="rtu", serial={"port": "/dev/ttyUSB0", "baudrate": 9600})
    site = parse_site(raw, "site.yaml", base=SITE_FILE.parent)
    serial = [eq for eq in site.equipment if eq.source.modbus is not None]
    assert {gateway_key(eq) for eq in serial} == {"/dev/ttyUSB0"}
    assert machines_of(site, "gateway:/dev/ttyUSB0") == serial

    rig = Rig(tmp_path, f"sqlite:///{tmp_path / 'records.db'}", site=site)
    try:
        rig.tick()
        for eq in serial:  # the line goes dead: every device on it stops answering
            rig.quality[eq.id] = Quality.COMM_FAULT
        rig.tick(times=30)
        subjects = {t["equipment"] for t in rig.tickets()}
        assert subjects == {"gateway:/dev/ttyUSB0"}  # one ticket for the cause, not three
    finally:
        rig.close()
