"""The handover page (交接班) in headless Chromium against the real app over real HTTP: the
outgoing engineer reads the drafted sheet and signs off with remarks, the incoming one (their
own key) accepts; the records show both, by name."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn

from api import ApiContext, create_app
from core.clock import FakeClock
from core.site import Site
from storage import RecordsDB, SqliteTimeSeriesStore
from storage.api_keys import Role
from storage.handovers import HandoverStatus, recent
from tests.api_support import new_key
from tests.servers.chromium import Chromium, Page, chromium_binary
from tests.servers.ports import free_port, wait_listening

NOW = datetime(2026, 3, 2, 12, 5, tzinfo=UTC)  # 20:05 in Shanghai: the day shift just ended


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


def _wait(page: Page, expression: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        guarded = f"(() => {{ try {{ return {expression}; }} catch (e) {{ return false; }} }})()"
        try:
            if page.evaluate(guarded) is True:
                return
        except RuntimeError:  # the page is navigating: its context is gone for a moment
            pass
        time.sleep(0.05)
    raise AssertionError(f"the page never showed: {expression}")


def test_sign_off_and_accept_on_the_page(server: int, page: Page, records: RecordsDB) -> None:
    zhang = new_key(records, Role.ENGINEER, "张工")
    li = new_key(records, Role.ENGINEER, "李工")
    page.navigate(f"http://127.0.0.1:{server}/handover#key={zhang}")
    _wait(page, "document.body.dataset.status === 'drafted'")
    assert page.evaluate("document.getElementById('shift').textContent").startswith("夜班")
    _wait(
        page, "document.getElementById('sheet').contentDocument.body.innerText.includes('本班告警')"
    )
    assert page.evaluate("document.getElementById('accept-box').hidden") is True
    page.evaluate("document.getElementById('remarks').value = '2号楼客梯网关待查'")
    page.evaluate("document.getElementById('sign').click()")
    _wait(page, "document.body.dataset.status === 'signed'")
    assert page.evaluate("document.getElementById('sign-box').hidden") is True

    # the same person cannot accept: the page shows why
    page.evaluate("document.getElementById('accept').click()")
    _wait(page, "document.getElementById('message').textContent.includes('someone else')")

    page.navigate("about:blank")  # a new page load, not just a new fragment on the old one
    _wait(page, "location.href === 'about:blank'")
    page.navigate(f"http://127.0.0.1:{server}/handover#key={li}")
    _wait(page, "document.body.dataset.status === 'signed'")
    page.evaluate("document.getElementById('accept').click()")
    _wait(page, "document.body.dataset.status === 'accepted'")
    _wait(page, "document.getElementById('on-duty').textContent === '李工'")
    text = "document.getElementById('sheet').contentDocument.body.innerText"
    _wait(page, f"{text}.includes('接班人：李工')")  # the sheet reloads after the accept
    sheet = page.evaluate(text)
    assert "交班人：张工" in sheet and "2号楼客梯网关待查" in sheet

    with records.engine.connect() as conn:
        (handover,) = recent(conn, "lakeside")
    assert handover.status is HandoverStatus.ACCEPTED
    assert handover.remarks == "2号楼客梯网关待查"
    assert handover.outgoing_by is not None and handover.outgoing_by.startswith("张工")
    assert handover.incoming_by is not None and handover.incoming_by.startswith("李工")
