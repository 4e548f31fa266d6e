"""Inspection rounds (巡检): the checklist answers checked against the telemetry, and the
phone page (/rounds) driven in headless Chromium at a phone viewport over real HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import uvicorn

from alerts.planner import plan_and_escalate
from api import ApiContext, create_app
from core.checklists import checklist, contradictions
from core.clock import FakeClock
from core.readings import Reading
from core.site import Site
from core.workorders import OrderStatus
from storage import RecordsDB, SqliteTimeSeriesStore
from storage.api_keys import Role
from storage.planned import find
from tests.api_support import new_key
from tests.servers.chromium import Chromium, Page, chromium_binary
from tests.servers.ports import free_port, wait_listening

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "test-artifacts"  # docs/rounds/ keeps the copy the README shows
NOW = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # Monday 09:30 in Shanghai


def test_an_answer_the_telemetry_contradicts_is_named() -> None:
    assert [i.item for i in checklist("pump")][:3] == ["appearance", "leaks", "running"]
    stopped = {"running": 0.0, "auto_mode": 1.0}
    assert contradictions("pump", {"running": "运行", "auto": "自动"}, stopped) == [
        '运行状态: 记录"运行"，遥测为"停止"'
    ]
    assert contradictions("pump", {"running": "停止", "auto": "自动"}, stopped) == []
    assert contradictions("pump", {"running": "运行"}, {}) == []  # unknown contradicts nothing
    assert contradictions("water_tank", {"high_level": "无"}, {"high_level": 1.0}) == [
        '高液位报警: 记录"无"，遥测为"有"'
    ]


@pytest.fixture
def server(site: Site, ts_store: SqliteTimeSeriesStore, records: RecordsDB) -> Iterator[int]:
    context = ApiContext(site=site, store=ts_store, records=records, clock=FakeClock(NOW))
    port = free_port()
    config = uvicorn.Config(
        create_app(context), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    served = uvicorn.Server(config)
    thread = threading.Thread(target=served.run, daemon=True)
    thread.start()
    wait_listening(port, timeout=30)
    yield port
    served.should_exit = True
    thread.join(timeout=30)


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Page]:
    if chromium_binary() is None:
        pytest.skip("Debian chromium is not installed (make test installs it)")
    browser = Chromium(tmp_path / "chromium")
    try:
        yield browser.page()
    finally:
        browser.stop()


def _wait(page: Page, expression: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        guarded = f"(() => {{ try {{ return {expression}; }} catch (e) {{ return false; }} }})()"
        try:
            if page.evaluate(guarded) is True:
                return
        except RuntimeError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"the page never showed: {expression}")


def test_a_round_on_the_phone_page(
    server: int, page: Page, site: Site, ts_store: SqliteTimeSeriesStore, records: RecordsDB
) -> None:
    plan_and_escalate(site, ts_store, records.engine, NOW)
    ts_store.write(
        [
            Reading("pump-domestic-1", "running", NOW, 0.0),
            Reading("pump-domestic-1", "auto_mode", NOW, 1.0),
            Reading("pump-domestic-1", "outlet_pressure_mpa", NOW, 0.43),
        ]
    )
    with records.engine.connect() as conn:
        check = next(o for o in find(conn, equipment="pump-domestic-1") if o.plan == "check")
    key = new_key(records, Role.ENGINEER, "王师傅")
    page.resize(390, 844, mobile=True, scale=2)
    page.navigate(f"http://127.0.0.1:{server}/rounds#key={key}")
    card = f"document.getElementById('order-{check.id}')"
    _wait(page, f"{card}.querySelectorAll('select').length === 6")
    assert "running 否" in page.evaluate(f"{card}.querySelector('.live').textContent")
    # the technician records the pump as running; the telemetry says it is stopped
    answers = {
        "appearance": "正常",
        "leaks": "无",
        "running": "运行",
        "auto": "自动",
        "noise": "无",
        "gauge": "正常",
    }
    for item, answer in answers.items():
        page.evaluate(f"{card}.querySelector('select[name={item}]').value = '{answer}'")
    page.evaluate(f"{card}.querySelector('textarea').value = '泵房地面干燥'")
    page.evaluate(f"{card}.scrollIntoView()")
    page.screenshot(SCREENSHOTS / "rounds-phone-checklist.png")
    page.evaluate(f"{card}.querySelector('button').click()", user_gesture=True)
    _wait(page, f"{card}.querySelector('.flag') !== null")
    assert "与遥测不符" in page.evaluate(f"{card}.querySelector('.flag').textContent")
    page.evaluate(f"{card}.scrollIntoView()")
    page.screenshot(SCREENSHOTS / "rounds-phone-flagged.png")
    assert page.evaluate("document.body.scrollWidth <= window.innerWidth") is True
    with records.engine.connect() as conn:
        done = next(o for o in find(conn, equipment="pump-domestic-1") if o.id == check.id)
    assert done.status is OrderStatus.DONE and (done.finished_by or "").startswith("王师傅")
    assert done.result is not None
    assert done.result["checklist"] == answers and done.result["notes"] == "泵房地面干燥"
    assert done.result["contradictions"] == ['运行状态: 记录"运行"，遥测为"停止"']
    assert done.result["readings"]["outlet_pressure_mpa"]["value"] == 0.43

    board = httpx.get(
        f"http://127.0.0.1:{server}/api/v1/board", headers={"Authorization": f"Bearer {key}"}
    ).json()
    flagged = [o for o in board["planned"] if o["id"] == check.id]
    assert flagged and flagged[0]["result"]["contradictions"]
