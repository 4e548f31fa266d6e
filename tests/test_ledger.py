"""The equipment ledger (设备台账) through the API: edits as changes with history, CSV export
and import (BOM, Chinese headers, all rows or none), and certificates nearing expiry as
planned orders on the board."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from alerts.planner import plan_and_escalate
from api import ApiContext
from core.clock import FakeClock
from core.site import parse_site
from storage import RecordsDB, SqliteTimeSeriesStore
from storage.api_keys import Role
from tests.api_support import auth, client_for, new_key
from tests.test_planned import SITE

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai, Monday 2 March


class Rig:
    def __init__(self, tmp: Path, site_raw: dict[str, Any]) -> None:
        self.site = parse_site(site_raw)
        self.store = SqliteTimeSeriesStore(tmp / "ts.db")
        self.records = RecordsDB(f"sqlite:///{tmp / 'records.db'}")
        self.clock = FakeClock(NOW)
        self.engineer = auth(new_key(self.records, Role.ENGINEER, "李工"))
        self.viewer = auth(new_key(self.records, Role.VIEWER))
        self.client = client_for(ApiContext(self.site, self.store, self.records, clock=self.clock))

    def plan(self) -> None:
        plan_and_escalate(self.site, self.store, self.records.engine, self.clock.now())

    def close(self) -> None:
        self.store.close()
        self.records.close()


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    r = Rig(tmp_path, SITE)
    async with r.client:
        yield r
    r.close()


async def _edit(rig: Rig, values: dict[str, Any], note: str = "") -> httpx.Response:
    return await rig.client.post(
        "/api/v1/equipment/lift-1/ledger",
        headers=rig.engineer,
        json={"values": values, "note": note},
    )


async def test_edits_are_changes_and_the_history_keeps_every_value(rig: Rig) -> None:
    first = await _edit(
        rig,
        {
            "model": "GeN2",
            "maker": "奥的斯",
            "cert.inspection.number": "TS-001",
            "cert.inspection.expires": "2026-03-20",
        },
        "建档",
    )
    assert first.status_code == 200, first.text
    rig.clock.advance(86400)
    second = await _edit(rig, {"model": "GeN2-MRL", "maker": "奥的斯"})  # maker unchanged
    body = second.json()
    fields = {f["field"]: f["value"] for f in body["fields"]}
    assert fields["model"] == "GeN2-MRL" and fields["maker"] == "奥的斯"
    history = [(h["field"], h["value"], h["name_zh"]) for h in body["history"]]
    assert history == [
        ("model", "GeN2", "型号"),
        ("maker", "奥的斯", "制造商"),
        ("cert.inspection.number", "TS-001", "定期检验合格证编号"),
        ("cert.inspection.expires", "2026-03-20", "定期检验合格证有效期至"),
        ("model", "GeN2-MRL", "型号"),
    ]
    assert body["history"][0]["actor"].startswith("李工") and body["history"][0]["note"] == "建档"
    assert body["history"][-1]["at"] == "2026-03-03T09:00:00+08:00"
    cert = body["certificates"][0]
    assert (cert["kind"], cert["days_left"], cert["expiring"]) == ("inspection", 17, True)
    cleared = (await _edit(rig, {"maker": ""})).json()
    assert {f["field"]: f["value"] for f in cleared["fields"]}["maker"] is None
    assert cleared["history"][-1]["value"] is None and len(cleared["history"]) == 6
    log = (await rig.client.get("/api/v1/equipment/lift-1/log", headers=rig.viewer)).json()
    entries = log["entries"] if isinstance(log, dict) else log
    assert any("台账变更 型号: GeN2 → GeN2-MRL" in e["message"] for e in entries)


async def test_bad_edits_are_refused(rig: Rig) -> None:
    assert (await _edit(rig, {"installed": "2026-13-01"})).status_code == 422
    assert (await _edit(rig, {"colour": "red"})).status_code == 422
    assert (await _edit(rig, {"model": "x" * 201})).status_code == 422
    refused = await rig.client.post(
        "/api/v1/equipment/lift-1/ledger", headers=rig.viewer, json={"values": {"model": "x"}}
    )
    assert refused.status_code == 403
    assert (
        await rig.client.get("/api/v1/equipment/nope/ledger", headers=rig.viewer)
    ).status_code == 404
    body = (await rig.client.get("/api/v1/equipment/lift-1/ledger", headers=rig.viewer)).json()
    assert body["history"] == []


async def test_csv_export_and_import_round_trip(rig: Rig) -> None:
    await _edit(
        rig,
        {
            "model": "GeN2",
            "contractor": "上海某电梯维保有限公司",
            "contractor_phone": "021-5555 0101",
        },
    )
    exported = await rig.client.get("/api/v1/ledger?format=csv", headers=rig.viewer)
    assert exported.headers["content-type"].startswith("text/csv")
    raw = exported.content
    assert raw.startswith("\ufeff".encode())
    text = raw.decode("utf-8")
    header, *rows = text.removeprefix("\ufeff").splitlines()
    assert header.startswith("设备编号,设备名称,型号,制造商,出厂编号,安装日期,维保单位,维保电话,")
    assert "lift-1,客梯,GeN2,,,,上海某电梯维保有限公司,021-5555 0101" in rows[1]
    url = "/api/v1/ledger/import"
    again = await rig.client.post(url, headers=rig.engineer, content=raw)
    assert again.status_code == 200, again.text
    assert again.json()["changed"] == {"p-1": 0, "lift-1": 0}  # nothing changed, nothing recorded
    edited = raw.decode("utf-8").replace("lift-1,客梯,GeN2,", "lift-1,客梯,GeN2-MRL,")
    edited = edited.replace("p-1,生活泵,,", "p-1,生活泵,CR 32-4,")
    changed = await rig.client.post(url, headers=rig.engineer, content=edited.encode("utf-8"))
    assert changed.json()["changed"] == {"p-1": 1, "lift-1": 1}
    pump = (await rig.client.get("/api/v1/equipment/p-1/ledger", headers=rig.viewer)).json()
    assert pump["history"][0]["note"] == "CSV导入" and pump["history"][0]["value"] == "CR 32-4"
    # all rows or none: a bad second row leaves the first unrecorded too
    bad = edited.replace("CR 32-4", "CR 45")
    bad += "nope,?,,,,,,,,,,\r\n"
    refused = await rig.client.post(url, headers=rig.engineer, content=bad.encode("utf-8"))
    assert (
        refused.status_code == 422 and "row 4: unknown equipment 'nope'" in refused.json()["error"]
    )
    bad_date = "设备编号,安装日期\r\np-1,明年\r\n"
    refused = await rig.client.post(url, headers=rig.engineer, content=bad_date.encode("utf-8"))
    assert refused.status_code == 422 and "row 2, column 2" in refused.json()["error"]
    unknown = "设备编号,颜色\r\np-1,红\r\n"
    refused = await rig.client.post(url, headers=rig.engineer, content=unknown.encode("utf-8"))
    assert "unknown header '颜色'" in refused.json()["error"]
    gbk = await rig.client.post(url, headers=rig.engineer, content="设备编号\r\n".encode("gbk"))
    assert gbk.status_code == 422
    pump = (await rig.client.get("/api/v1/equipment/p-1/ledger", headers=rig.viewer)).json()
    assert len(pump["history"]) == 1
    viewer = await rig.client.post(url, headers=rig.viewer, content=raw)
    assert viewer.status_code == 403


async def test_a_certificate_nearing_expiry_becomes_planned_work_on_the_board(rig: Rig) -> None:
    await _edit(
        rig,
        {
            "cert.inspection.number": "TS-001",
            "cert.inspection.expires": "2026-04-10",
            "cert.registration.number": "梯沪A0001",
            "cert.registration.expires": "2026-03-25",
        },
    )
    rig.plan()
    orders = (await rig.client.get("/api/v1/planned?equipment=lift-1", headers=rig.viewer)).json()
    certs = [o for o in orders if o["source"] == "certificate"]
    # 25 March is within 30 days of 2 March; 10 April (39 days) is not yet
    assert [(o["plan"], o["due_start"], o["due_by"]) for o in certs] == [
        ("cert_registration", "2026-02-23T00:00:00+08:00", "2026-03-26T00:00:00+08:00")
    ]
    assert certs[0]["name_zh"] == "特种设备使用登记证换证（2026-03-25到期）"
    board = (await rig.client.get("/api/v1/board", headers=rig.viewer)).json()
    assert [o["plan"] for o in board["planned"] if o["source"] == "certificate"] == [
        "cert_registration"
    ]
    rig.clock.advance(10 * 86400)  # 12 March: 10 April is 29 days off now
    rig.plan()
    rig.plan()  # a second planner step makes nothing new
    orders = (await rig.client.get("/api/v1/planned?equipment=lift-1", headers=rig.viewer)).json()
    assert sorted(o["plan"] for o in orders if o["source"] == "certificate") == [
        "cert_inspection",
        "cert_registration",
    ]


async def test_the_certificate_notice_is_a_site_setting(tmp_path: Path) -> None:
    raw = copy.deepcopy(SITE)
    raw["maintenance"]["certificate_notice"] = "60d"
    r = Rig(tmp_path, raw)
    try:
        async with r.client:
            await r.client.post(
                "/api/v1/equipment/lift-1/ledger",
                headers=r.engineer,
                json={"values": {"cert.inspection.expires": "2026-04-10"}},
            )
            r.plan()
            orders = (
                await r.client.get("/api/v1/planned?equipment=lift-1", headers=r.viewer)
            ).json()
        assert [o["plan"] for o in orders if o["source"] == "certificate"] == ["cert_inspection"]
    finally:
        r.close()
