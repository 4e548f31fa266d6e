"""A real VictoriaMetrics server (Debian's ``victoria-metrics``) in a temporary directory.

It accepts InfluxDB line protocol on ``/api/v2/write``, which is how our InfluxDB writer is
tested; ``series()`` reads back what it stored. VictoriaMetrics names a field ``f`` of
measurement ``m`` as metric ``m_f`` and keeps only numeric fields.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.servers.ports import free_port, wait_listening


@dataclass
class VictoriaMetrics:
    port: int
    workdir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        binary = shutil.which("victoria-metrics") or "/usr/bin/victoria-metrics"
        self.process = subprocess.Popen(
            [
                binary,
                f"-httpListenAddr=127.0.0.1:{self.port}",
                f"-storageDataPath={self.workdir / 'data'}",
                # fixture timestamps may be old; the default retention drops them silently
                "-retentionPeriod=100y",
                "-loggerLevel=ERROR",
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(self.workdir / "victoria.log", "ab"),  # noqa: SIM115
        )
        wait_listening(self.port, timeout=30)

    def series(
        self, match: str = '{__name__!=""}'
    ) -> dict[tuple[str, frozenset[tuple[str, str]]], dict[int, float]]:
        """Everything stored: (metric name, labels) -> {timestamp ms: value}."""
        httpx.get(f"{self.base_url}/internal/force_flush", timeout=30).raise_for_status()
        answer = httpx.post(f"{self.base_url}/api/v1/export", data={"match[]": match}, timeout=30)
        answer.raise_for_status()
        out: dict[tuple[str, frozenset[tuple[str, str]]], dict[int, float]] = {}
        for line in answer.text.splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            labels = dict(item["metric"])
            name = labels.pop("__name__")
            samples = out.setdefault((name, frozenset(labels.items())), {})
            samples.update(zip(item["timestamps"], item["values"], strict=True))
        return out

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(15)
            self.process = None


def start_victoria(workdir: Path) -> VictoriaMetrics:
    workdir.mkdir(parents=True, exist_ok=True)
    server = VictoriaMetrics(free_port(), workdir)
    server.start()
    return server
