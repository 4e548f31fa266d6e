"""A real PostgreSQL 15 (Debian's ``postgresql``) in a temporary directory on a free port.

As root, the cluster runs as the ``postgres`` user (initdb refuses to run as root). Tests get
a fresh database each via ``create_database``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tests.servers.ports import free_port, wait_listening

BIN = Path("/usr/lib/postgresql/15/bin")


def _as_postgres(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@dataclass
class Postgres:
    port: int
    workdir: Path
    process: subprocess.Popen[bytes] | None = None
    databases: list[str] = field(default_factory=list)

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        data = self.workdir / "data"
        if os.geteuid() == 0:
            shutil.chown(self.workdir, "postgres", "postgres")
        if not (data / "PG_VERSION").exists():  # a restart keeps the cluster
            self._initdb(data)
        self._launch(data)

    def _initdb(self, data: Path) -> None:
        subprocess.run(
            _as_postgres(
                [
                    str(BIN / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "--no-sync",
                    "-E",
                    "UTF8",
                    "--locale",
                    "C",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def _launch(self, data: Path) -> None:
        log = open(self.workdir / "postgres.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            _as_postgres(
                [
                    str(BIN / "postgres"),
                    "-D",
                    str(data),
                    "-p",
                    str(self.port),
                    "-k",
                    str(self.workdir),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "max_connections=200",
                ]
            ),
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        wait_listening(self.port, timeout=30)

    def create_database(self) -> str:
        """A fresh, empty database; returns its SQLAlchemy URL."""
        import sqlalchemy as sa

        name = "t_" + uuid.uuid4().hex[:12]
        engine = sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        finally:
            engine.dispose()
        self.databases.append(name)
        return self.url(name)

    def stop_fast(self) -> None:
        """Stop the server (``pg_ctl stop -m fast``: clients are cut off) but keep its data;
        ``start()`` brings it back on the same port."""
        if self.process is not None:
            subprocess.run(
                _as_postgres(
                    [
                        str(BIN / "pg_ctl"),
                        "stop",
                        "-D",
                        str(self.workdir / "data"),
                        "-m",
                        "fast",
                        "-w",
                    ]
                ),
                check=True,
                stdout=subprocess.DEVNULL,
            )
            self.process.wait(20)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(20)
            self.process = None
        shutil.rmtree(self.workdir, ignore_errors=True)


def start_postgres() -> Postgres:
    if not (BIN / "postgres").exists():
        raise RuntimeError("PostgreSQL 15 is not installed (apt-get install postgresql)")
    workdir = Path(tempfile.mkdtemp(prefix="plantroom-pg-"))
    server = Postgres(free_port(), workdir)
    server.start()
    return server
