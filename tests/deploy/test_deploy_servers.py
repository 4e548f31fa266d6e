"""The deploy/ files run for real: the PostgreSQL init script and the mosquitto config."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import ProgrammingError

from tests.servers.mosquitto import Mosquitto
from tests.servers.ports import free_port, wait_listening
from tests.servers.postgres import Postgres

ROOT = Path(__file__).resolve().parents[2]


def test_grafana_reader_can_read_later_tables_and_write_nothing(postgres: Postgres) -> None:
    url = postgres.create_database()
    db = url.rsplit("/", 1)[1]
    env = {
        **os.environ,
        "PGHOST": "127.0.0.1",
        "PGPORT": str(postgres.port),
        "POSTGRES_USER": "postgres",
        "POSTGRES_DB": db,
        "GRAFANA_DB_USER": f"reader_{uuid.uuid4().hex[:6]}",
        "GRAFANA_DB_PASSWORD": "reader-pw",
    }
    subprocess.run(
        ["bash", str(ROOT / "deploy/postgres/init/10-grafana-reader.sh")],
        env=env,
        check=True,
        capture_output=True,
    )
    owner = sa.create_engine(url)
    with owner.begin() as conn:  # a table plantroom creates after the init script ran
        conn.exec_driver_sql("CREATE TABLE tickets (id int primary key, title text)")
        conn.exec_driver_sql("INSERT INTO tickets VALUES (1, '水泵故障')")
    reader = sa.create_engine(url.replace("postgres@", f"{env['GRAFANA_DB_USER']}@", 1))
    try:
        with reader.connect() as conn:
            assert conn.exec_driver_sql("SELECT title FROM tickets").scalar() == "水泵故障"
        with reader.connect() as conn, pytest.raises(ProgrammingError, match="permission"):
            conn.exec_driver_sql("DELETE FROM tickets")
    finally:
        reader.dispose()
        owner.dispose()


def test_mosquitto_config_refuses_anonymous_and_admits_the_password_file_users() -> None:
    # mosquitto started as root runs as user mosquitto, which must reach its files, as the
    # entrypoint arranges in the container; pytest's own temp dirs are private to root
    workdir = Path(tempfile.mkdtemp(prefix="plantroom-mq-"))
    port = free_port()
    conf = (ROOT / "deploy/mosquitto/mosquitto.conf").read_text("utf-8")
    conf = conf.replace("listener 1883", f"listener {port} 127.0.0.1")
    conf = conf.replace("/mosquitto/data/", f"{workdir}/")
    (workdir / "mosquitto.conf").write_text(conf, "utf-8")
    passwd = workdir / "passwd"
    passwd.touch(mode=0o600)
    # the same mosquitto_passwd calls the entrypoint makes
    subprocess.run(["mosquitto_passwd", "-b", str(passwd), "plantroom", "pw1"], check=True)
    subprocess.run(["mosquitto_passwd", "-b", str(passwd), "devices", "pw2"], check=True)
    if os.geteuid() == 0:
        for path in (workdir, passwd):
            shutil.chown(path, "mosquitto", "mosquitto")
    broker = Mosquitto(port, workdir)
    broker.process = subprocess.Popen(
        ["mosquitto", "-c", str(workdir / "mosquitto.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_listening(port)
        assert connect(port, None, None) != 0
        assert connect(port, "plantroom", "wrong") != 0
        assert connect(port, "plantroom", "pw1") == 0
        assert connect(port, "devices", "pw2") == 0
    finally:
        broker.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def connect(port: int, user: str | None, password: str | None) -> int:
    """The CONNACK reason code (0 = accepted)."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    if user is not None:
        client.username_pw_set(user, password)
    codes: list[int] = []
    client.on_connect = lambda _c, _u, _f, rc, _p: codes.append(rc.value)
    client.connect("127.0.0.1", port)
    for _ in range(100):
        client.loop(0.05)
        if codes:
            break
    client.disconnect()
    assert codes, "no CONNACK"
    return codes[0]
