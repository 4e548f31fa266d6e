"""A real InfluxDB 1.x server (Debian's ``influxdb``, 1.6) in a temporary directory.

It serves the InfluxQL ``/query`` endpoint our reads use, and ``/write`` for loading test data
(1.6 has no ``/api/v2/write``). Authentication is on, with one admin user, so that tests can
show a refused password. Every listener is on a port the test picked.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.servers.ports import free_port, wait_listening

ADMIN_USER = "admin"
ADMIN_PASSWORD = "test-secret-pw"

_CONFIG = """\
reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"
[meta]
  dir = "{workdir}/meta"
  logging-enabled = false
[data]
  dir = "{workdir}/data"
  wal-dir = "{workdir}/wal"
  query-log-enabled = false
  wal-fsync-delay = "100ms"
[monitor]
  store-enabled = false
[subscriber]
  enabled = false
[continuous_queries]
  enabled = false
[retention]
  enabled = false
[shard-precreation]
  enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:{port}"
  auth-enabled = true
  log-enabled = false
  pprof-enabled = false
  max-row-limit = 0
[logging]
  level = "warn"
"""


@dataclass
class InfluxDB1:
    port: int
    workdir: Path
    process: subprocess.Popen[bytes] | None = None
    databases: set[str] = field(default_factory=set)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, db: str, user: str = ADMIN_USER, password: str = ADMIN_PASSWORD) -> str:
        """A ``PLANTROOM_TSDB_URL`` for database ``db``."""
        return f"influxdb://{user}:{password}@127.0.0.1:{self.port}?bucket={db}"

    def start(self) -> None:
        binary = shutil.which("influxd") or "/usr/bin/influxd"
        conf = self.workdir / "influxdb.conf"
        conf.write_text(_CONFIG.format(workdir=self.workdir, port=self.port, rpc_port=free_port()))
        self.process = subprocess.Popen(
            [binary, "-config", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=open(self.workdir / "influxd.log", "ab"),  # noqa: SIM115
        )
        wait_listening(self.port, timeout=30)
        # with no user yet, InfluxDB 1.x lets anyone create the first admin
        self.query(
            f"CREATE USER {ADMIN_USER} WITH PASSWORD '{ADMIN_PASSWORD}' WITH ALL PRIVILEGES",
            auth=False,
        )

    def query(self, statement: str, db: str = "", auth: bool = True) -> dict[str, object]:
        answer = httpx.post(
            f"{self.base_url}/query",
            data={"q": statement, "db": db, "epoch": "ms"},
            auth=(ADMIN_USER, ADMIN_PASSWORD) if auth else None,
            timeout=30,
        )
        answer.raise_for_status()
        body: dict[str, object] = answer.json()
        return body

    def create_database(self, db: str) -> None:
        self.query(f'CREATE DATABASE "{db}"')
        self.databases.add(db)

    def write_lines(self, db: str, lines: list[str]) -> None:
        """Load line protocol through 1.x's ``/write`` at millisecond precision."""
        if not lines:
            return
        answer = httpx.post(
            f"{self.base_url}/write",
            params={"db": db, "precision": "ms"},
            content="\n".join(lines).encode(),
            auth=(ADMIN_USER, ADMIN_PASSWORD),
            timeout=30,
        )
        if answer.status_code != 204:
            raise RuntimeError(f"influxdb /write: HTTP {answer.status_code}: {answer.text}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(15)
            self.process = None


def start_influxdb1(workdir: Path) -> InfluxDB1:
    workdir.mkdir(parents=True, exist_ok=True)
    server = InfluxDB1(free_port(), workdir)
    server.start()
    return server
