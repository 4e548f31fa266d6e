"""MQTT with username/password and TLS against a real mosquitto; secrets never reach the logs."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
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
from tests.servers.ports import free_port
from tests.test_processes import env_for, run_cli

PASSWORD = "s3cret-Pa55"  # a throwaway test credential
TOPIC = "plantroom/lakeside/b2/water_tank/tank-fire/telemetry"


def make_certificates(
    directory: Path, names: str = "IP:127.0.0.1,DNS:localhost"
) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for ``names``, made with openssl."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca, key, csr, cert = (
        directory / n for n in ("ca.key", "ca.pem", "srv.key", "srv.csr", "srv.pem")
    )
    ext = directory / "san.ext"
    ext.write_text(f"subjectAltName={names}\n")

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
    with tls_broker(tmp_path) as pair:
        yield pair


@contextmanager
def tls_broker(
    tmp_path: Path, names: str = "IP:127.0.0.1,DNS:localhost"
) -> Iterator[tuple[Mosquitto, Path]]:
    ca, cert, key = make_certificates(tmp_path / "tls", names)
    passwords = tmp_path / "passwd"
    passwords.touch()
    subprocess.run(["mosquitto_passwd", "-b", str(passwords), "plantroom", PASSWORD], check=True)
    options = f"cafile {ca}\ncertfile {cert}\nkeyfile {key}\npassword_file {passwords}\n"
    broker = start_mosquitto(tmp_path / "mosquitto", listener_options=options, anonymous=False)
    try:
        yield broker, ca
    finally:
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


# ------------------------------------------------------------ connection errors (issue 11)


def collect(tmp_path: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``plantroom`` (default: ``collect``) with ``url`` as its broker, to its end."""
    env = env_for(
        tmp_path,
        url,
        PLANTROOM_DATA_DIR=str(tmp_path),
        PLANTROOM_BUFFER_PATH=str(tmp_path / "buffer.db"),
    )
    return run_cli(list(args) or ["collect"], env, timeout=60)


def assert_one_line_and_no_secret(done: subprocess.CompletedProcess[str], cause: str) -> None:
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    # the last line says why, and only it
    assert output.splitlines()[-1].startswith("plantroom collect: "), output
    assert cause in output.splitlines()[-1], output
    assert output.count(cause) == 1, output
    assert "Traceback" not in output
    assert PASSWORD not in output


def test_a_broker_certificate_from_another_ca_stops_the_collector_with_the_cause(
    tmp_path: Path,
) -> None:
    with tls_broker(tmp_path / "broker") as (broker, _ca):
        other_ca, _, _ = make_certificates(tmp_path / "other")
        url = f"mqtts://plantroom:{PASSWORD}@127.0.0.1:{broker.port}?ca={other_ca}"
        done = collect(tmp_path, url)
        assert_one_line_and_no_secret(done, f"is not trusted by the CA in '{other_ca}'")
        assert "self-signed certificate" in done.stderr


def test_a_broker_certificate_for_another_host_stops_the_collector_with_the_cause(
    tmp_path: Path,
) -> None:
    with tls_broker(tmp_path / "broker", names="DNS:broker.invalid") as (broker, ca):
        url = f"mqtts://plantroom:{PASSWORD}@127.0.0.1:{broker.port}?ca={ca}"
        done = collect(tmp_path, url)
        assert_one_line_and_no_secret(done, "its TLS certificate is not for host '127.0.0.1'")


def test_mqtts_without_a_ca_names_the_system_cas_as_the_cause(tmp_path: Path) -> None:
    with tls_broker(tmp_path / "broker") as (broker, _ca):
        url = f"mqtts://plantroom:{PASSWORD}@127.0.0.1:{broker.port}"
        done = collect(tmp_path, url)
        assert_one_line_and_no_secret(done, "not trusted by the system's CAs (no ?ca=")


def test_a_missing_ca_file_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "ca.pem"
    done = collect(tmp_path, f"mqtts://plantroom:{PASSWORD}@127.0.0.1:8883?ca={missing}")
    assert_one_line_and_no_secret(done, f"MQTT CA file '{missing}' (?ca=): No such file")


def test_a_password_with_url_characters_unencoded_is_refused_without_showing_any_of_it(
    tmp_path: Path,
) -> None:
    secret = "Zq7/Xk9?Wm3#Vb5"
    for password in (secret, "4711/Xk9"):  # digits first would parse as a port
        done = collect(tmp_path, f"mqtt://plantroom:{password}@127.0.0.1:1883")
        output = done.stdout + done.stderr
        assert done.returncode == 1, output
        assert "must be percent-encoded" in output
        for fragment in ("Zq7", "Xk9", "Wm3", "Vb5", "4711"):
            assert fragment not in output, output
    encoded = MqttEndpoint.parse("mqtt://plantroom:Zq7%2FXk9%3FWm3%23Vb5@127.0.0.1:1883")
    assert encoded.password == secret and encoded.host == "127.0.0.1"


def test_a_broker_that_is_not_up_yet_is_one_logged_line_and_retried(tmp_path: Path) -> None:
    port = free_port()
    url = f"mqtt://plantroom:{PASSWORD}@127.0.0.1:{port}"
    done = collect(tmp_path, url, "run", "--components", "collect", "--duration", "4")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output  # it kept running, retrying, until --duration
    refused = [line for line in output.splitlines() if "what=mqtt-broker" in line]
    assert len(refused) == 1, output
    assert "connection refused" in refused[0] and "retrying" in refused[0]
    assert f"127.0.0.1:{port}" in refused[0]
    assert PASSWORD not in output
