"""A real PostgreSQL (Debian's ``postgresql``, 15) in a temporary directory.

As root, ``initdb`` and the server must run as the ``postgres`` user, so the data directory
is a fresh temporary directory owned by it (pytest's own temp dirs are private to root). The
server listens on 127.0.0.1 on a port the test picked, with trust authentication, and never
touches a system cluster the package may have started.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.servers.ports import free_port, wait_listening


def _bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql)")
    return Path(found[-1]).parent


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@dataclass
class Postgres:
    port: int
    workdir: Path

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the ``postgres`` database (psycopg 3)."""
        return self.url_for("postgres")

    def url_for(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    @property
    def dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"

    def start(self) -> None:
        bindir = _bindir()
        data = self.workdir / "data"
        subprocess.run(
            _as_postgres(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        subprocess.run(
            _as_postgres(
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-l",
                    str(self.workdir / "postgres.log"),
                    "-o",
                    f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1 "
                    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
                    "-w",
                    "start",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        wait_listening(self.port, timeout=30)

    def create_database(self, name: str) -> str:
        """Create database ``name`` and return its SQLAlchemy URL."""
        subprocess.run(
            _as_postgres(
                [
                    str(_bindir() / "createdb"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-U",
                    "postgres",
                    name,
                ]
            ),
            check=True,
        )
        return self.url_for(name)

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            subprocess.run(
                _as_postgres(
                    [
                        str(_bindir() / "pg_ctl"),
                        "-D",
                        str(self.workdir / "data"),
                        "-m",
                        "fast",
                        "-w",
                        "stop",
                    ]
                ),
                check=True,
                stdout=subprocess.DEVNULL,
            )
        shutil.rmtree(self.workdir, ignore_errors=True)


def start_postgres() -> Postgres:
    workdir = Path(tempfile.mkdtemp(prefix="plantroom-pg-"))
    if os.geteuid() == 0:
        pg = pwd.getpwnam("postgres")
        os.chown(workdir, pg.pw_uid, pg.pw_gid)
    server = Postgres(free_port(), workdir)
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    return server
