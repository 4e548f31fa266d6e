"""MQTT with username/password and TLS against a real mosquitto; secrets never reach the logs."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from collectors.mqtt import MqttCollector, MqttCollectorSettings
from collectors.sink import ReadingSink
from core.endpoints import MqttEndpoint
from core.logs import LineFormatter
from core.site import Site
from storage import SqliteTimeSeriesStore
from tests.mqtt_helpers import publish, running_collector, wait_until
from tests.servers.mosquitto import Mosquitto, start_mosquitto

PASSWORD = "s3cret-Pa55"  # a throwaway test credential
TOPIC = "plantroom/lakeside/b2/water_tank/tank-fire/telemetry"


def make_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1, made with openssl."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca, key, csr, cert = (
        directory / n for n in ("ca.key", "ca.pem", "srv.key", "srv.csr", "srv.pem")
    )
    ext = directory / "san.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=plantroom test CA",
        "-keyout",
        str(ca_key),
        "-out",
        str(ca),
    )
    run(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        str(key),
        "-out",
        str(csr),
    )
    run(
        "x509",
        "-req",
        "-in",
        str(csr),
        "-CA",
        str(ca),
        "-CAkey",
        str(ca_key),
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        str(ext),
        "-out",
        str(cert),
    )
    return ca, cert, key


@pytest.fixture
def secure_broker(tmp_path: Path) -> Iterator[tuple[Mosquitto, Path]]:
    ca, cert, key = make_certificates(tmp_path / "tls")
    passwords = tmp_path / "passwd"
    passwords.touch()
    subprocess.run(["mosquitto_passwd", "-b", str(passwords), "plantroom", PASSWORD], check=True)
    options = f"cafile {ca}\ncertfile {cert}\nkeyfile {key}\npassword_file {passwords}\n"
    broker = start_mosquitto(tmp_path / "mosquitto", listener_options=options, anonymous=False)
    yield broker, ca
    broker.stop()


def logged(caplog: pytest.LogCaptureFixture) -> str:
    """The log lines exactly as plantroom writes them, fields included."""
    formatter = LineFormatter()
    return "\n".join(formatter.format(record) for record in caplog.records)


def reading(level: float) -> bytes:
    ts = int(datetime.now(UTC).timestamp() * 1000)
    return json.dumps({"ts": ts, "values": {"level_m": level}}).encode()


async def test_collector_over_tls_with_a_password(
    secure_broker: tuple[Mosquitto, Path],
    site: Site,
    ts_store: SqliteTimeSeriesStore,
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker, ca = secure_broker
    url = f"mqtts://plantroom:{PASSWORD}@127.0.0.1:{broker.port}?ca={ca}"
    endpoint = MqttEndpoint.parse(url)
    assert endpoint.tls and endpoint.ca_file == str(ca)
    caplog.set_level(logging.DEBUG)
    settings = MqttCollectorSettings(endpoint, client_id="c-tls", share_group="plantroom")
    async with running_collector(site, ts_store, None, settings):
        await publish(endpoint, [(TOPIC, reading(2.25))])
        await wait_until(
            lambda: ("tank-fire", "level_m") in ts_store.latest(["tank-fire"]),
            what="reading over TLS",
        )
    assert PASSWORD not in logged(caplog)
    assert "plantroom:***@127.0.0.1" in logged(caplog)  # the redacted form is what gets logged


async def test_wrong_password_is_refused_and_logged_once_without_the_secret(
    secure_broker: tuple[Mosquitto, Path],
    site: Site,
    ts_store: SqliteTimeSeriesStore,
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker, ca = secure_broker
    wrong = "not-" + PASSWORD
    endpoint = MqttEndpoint.parse(f"mqtts://plantroom:{wrong}@127.0.0.1:{broker.port}?ca={ca}")
    sink = ReadingSink(ts_store)
    collector = MqttCollector(site, sink, MqttCollectorSettings(endpoint, client_id="c-bad"))
    caplog.set_level(logging.INFO)
    stop = asyncio.Event()
    task = asyncio.ensure_future(collector.run(stop))
    await wait_until(lambda: "connection refused" in logged(caplog), what="refusal logged")
    stop.set()
    await task
    assert logged(caplog).count("connection refused") == 1
    assert wrong not in logged(caplog) and PASSWORD not in logged(caplog)
    assert not collector.connected.is_set()


def test_mqtt_url_errors_are_clear() -> None:
    with pytest.raises(ValueError, match="must start with mqtt://"):
        MqttEndpoint.parse("http://broker")
    with pytest.raises(ValueError, match="no host"):
        MqttEndpoint.parse("mqtt://")
    endpoint = MqttEndpoint.parse("mqtt://user:p%40ss@broker.local")
    assert endpoint.password == "p@ss" and endpoint.port == 1883
    assert "p@ss" not in endpoint.redacted() and "p%40ss" not in endpoint.redacted()
    assert repr(endpoint).count("p@ss") == 0
