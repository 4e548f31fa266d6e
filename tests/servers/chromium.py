"""Headless Chromium (Debian ``chromium``) driven over the Chrome DevTools protocol.

Only what a page test needs: open a URL, evaluate JavaScript, take a screenshot. The
browser gets a fresh profile and a debugging port the test picked, and is killed after.
"""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

from tests.servers.ports import free_port, wait_listening

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,800",
]


def chromium_binary() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Page:
    """One tab, talked to over its DevTools websocket."""

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws
        self._ids = itertools.count(1)

    def call(self, method: str, timeout: float = 30.0, **params: Any) -> dict[str, Any]:
        request_id = next(self._ids)
        self._ws.send(json.dumps({"id": request_id, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            message = json.loads(self._ws.recv(timeout=max(0.01, deadline - time.monotonic())))
            if message.get("id") != request_id:
                continue  # an event we did not ask for
            if "error" in message:
                raise RuntimeError(f"{method}: {message['error']}")
            result: dict[str, Any] = message.get("result", {})
            return result

    def navigate(self, url: str) -> None:
        self.call("Page.navigate", url=url)

    def evaluate(self, expression: str, user_gesture: bool = False) -> Any:
        """The value of ``expression``; ``user_gesture`` runs it as if the user clicked, which
        browsers ask before they make sound."""
        result = self.call(
            "Runtime.evaluate",
            expression=expression,
            returnByValue=True,
            userGesture=user_gesture,
            awaitPromise=True,
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def resize(self, width: int, height: int, mobile: bool = False, scale: float = 1) -> None:
        """Emulate a screen of ``width`` x ``height`` CSS pixels (a phone with ``mobile``)."""
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=scale,
            mobile=mobile,
        )

    def screenshot(self, path: Path) -> None:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))


# "network off": every host name but loopback fails to resolve, so a page that needs a CDN
# (or any outside address) cannot get it, as on an isolated plant network
OFFLINE_FLAGS = ["--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"]


class Chromium:
    def __init__(self, workdir: Path, extra_flags: list[str] | None = None) -> None:
        binary = chromium_binary()
        if binary is None:
            raise FileNotFoundError("chromium is not installed (make test installs it)")
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                binary,
                *FLAGS,
                *(extra_flags or []),
                f"--remote-debugging-port={self.port}",
                f"--user-data-dir={workdir / 'profile'}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_listening(self.port, timeout=30)
        self._ws: ClientConnection | None = None

    def page(self) -> Page:
        targets: list[dict[str, Any]] = []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list") as response:
                targets = [t for t in json.loads(response.read()) if t.get("type") == "page"]
            if targets:
                break
            time.sleep(0.1)
        if not targets:
            raise RuntimeError("chromium opened no page")
        self._ws = connect(targets[0]["webSocketDebuggerUrl"], max_size=None)
        page = Page(self._ws)
        page.call("Page.enable")
        return page

    def stop(self) -> None:
        if self._ws is not None:
            self._ws.close()
        self.process.kill()
        self.process.wait(timeout=10)
