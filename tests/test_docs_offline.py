"""``/docs`` and ``/redoc`` work with the network off (issue 15): Swagger UI and ReDoc come
from an installed package, checked in headless Chromium that can resolve only loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers.chromium import OFFLINE_FLAGS, Chromium, Page, chromium_binary
from tests.servers.ports import free_port, wait_listening
from tests.test_processes import env_for, plantroom


@pytest.fixture
def offline_page(tmp_path: Path) -> Iterator[Page]:
    if chromium_binary() is None:
        pytest.skip("Debian chromium is not installed (make test installs it)")
    browser = Chromium(tmp_path / "chromium", extra_flags=OFFLINE_FLAGS)
    try:
        yield browser.page()
    finally:
        browser.stop()


def _wait_true(page: Page, expression: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if page.evaluate(
            f"(() => {{ try {{ return {expression}; }} catch (e) {{ return false; }} }})()"
        ):
            return
        time.sleep(0.1)
    raise AssertionError(f"the page never showed: {expression}")


# what the page loaded to work: scripts, styles, the schema. ReDoc's footer ("API docs by
# Redocly") is an <img> from its CDN, which shows as missing offline and changes nothing else
RESOURCES = (
    "performance.getEntriesByType('resource')"
    ".filter(e => e.initiatorType !== 'img').map(e => e.name)"
)


def test_swagger_ui_and_redoc_render_with_the_network_off(
    offline_page: Page, tmp_path: Path
) -> None:
    port = free_port()
    env = env_for(tmp_path, "embedded", PLANTROOM_COMPONENTS="api")
    with plantroom(["run", "--port", str(port)], env):
        wait_listening(port, timeout=30)
        base = f"http://127.0.0.1:{port}"
        offline_page.navigate(f"{base}/docs")
        # Swagger UI has read the schema and listed the operations
        _wait_true(offline_page, "document.querySelectorAll('.opblock').length > 10")
        title = offline_page.evaluate(
            "document.querySelector('.swagger-ui .info .title').textContent"
        )
        assert "plantroom" in title
        loaded = offline_page.evaluate(RESOURCES)
        assert loaded and all(url.startswith(base) for url in loaded), loaded
        offline_page.screenshot(tmp_path / "docs.png")

        offline_page.navigate(f"{base}/redoc")
        _wait_true(offline_page, "document.querySelectorAll('[data-section-id]').length > 10")
        loaded = offline_page.evaluate(RESOURCES)
        assert loaded and all(url.startswith(base) for url in loaded), loaded
