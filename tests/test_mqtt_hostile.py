"""The hostile-input suite, MQTT half (issue 11): hypothesis-made payloads (unpaired
surrogates, deep nesting, huge numbers, NaN/Infinity, duplicate keys, odd encodings, hostile
timestamps and keys) through a real mosquitto into a running ``plantroom collect`` process.
Every case ends with the process up and a good message published after it stored.

One broker and one collector process serve the whole module; the number of examples is
bounded so that the suite stays well under a minute.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.endpoints import MqttEndpoint
from core.mqttclient import make_client
from core.readings import Reading
from storage import RecordsDB, SqliteTimeSeriesStore
from tests.fuzz.strategies import json_like, nasty_numbers, nasty_text
from tests.servers.mosquitto import Mosquitto, start_mosquitto

ROOT = Path(__file__).resolve().parent.parent
PUMP = "plantroom/lakeside/b1/pump/pump-domestic-1/telemetry"
TANK = "plantroom/lakeside/b2/water_tank/tank-fire/telemetry"
STATUS = "plantroom/lakeside/b1/pump/pump-domestic-1/status"
TOPICS = [PUMP, TANK, STATUS, "plantroom/lakeside/b1/pump/幽灵 泵/telemetry"]

# --------------------------------------------------------------------------- strategies

SIGNALS = ["starts", "current_a", "running", "fault_code", "level_m", "low_level"]
surrogates = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
any_text = st.text(st.characters(exclude_categories=()), max_size=8) | st.builds(
    lambda a, s, b: a + s + b, nasty_text, surrogates, nasty_text
)
keys = st.sampled_from(SIGNALS) | any_text
timestamps = (
    nasty_numbers
    | nasty_text
    | st.sampled_from(
        [
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59+14:00",
            "2026-02-30T00:00:00Z",
            "now",
            "1e999",
            10**30,
            -(10**15),
        ]
    )
    | st.integers(-(10**6), 10**6).map(lambda s: int(time.time() * 1000) + s * 1000)
)


def dumps(document: Any, ascii_only: bool) -> bytes:
    """JSON text of ``document``: with non-ASCII as escapes (a lone surrogate becomes the
    escape ``\\ud800``) or as raw UTF-8 (a lone surrogate becomes bytes no decoder takes)."""
    text = json.dumps(document, ensure_ascii=ascii_only, allow_nan=True)
    return text.encode("utf-8", "surrogatepass")


documents = st.builds(
    dumps,
    st.fixed_dictionaries(
        {"values": st.dictionaries(keys, json_like(keys, max_leaves=8), max_size=5)},
        optional={"ts": timestamps, "seq": nasty_numbers, "extra": json_like(keys)},
    ),
    st.booleans(),
)


def deep(depth: int, opener: str) -> bytes:
    closer = {"[": "]", "{": "}"}[opener]
    if opener == "{":
        return (('{"values": ' + '{"a": ' * depth) + "1" + "}" * (depth + 1)).encode()
    return ('{"values": {"starts": ' + "[" * depth + "1" + closer * depth + "}}").encode()


handmade = st.one_of(
    st.builds(deep, st.integers(10, 100_000), st.sampled_from(["[", "{"])),
    st.integers(300, 20_000).map(lambda n: b'{"values": {"starts": 1' + b"0" * n + b"}}"),
    st.sampled_from(
        [
            b'{"values": {"starts": NaN, "current_a": Infinity, "level_m": -Infinity}}',
            b'{"values": {"starts": 1e999, "current_a": -1e999}}',
            b'{"values": {"starts": 1, "starts": "x", "starts": null}}',  # duplicate keys
            b'{"ts": 1, "ts": "x", "values": {"starts": 1}}',
            b'{"values": {"\\ud800": 1, "\\udfff\\ud800": "\\ud800"}}',
            b'{"values": {"starts": "\\u0000"}, "\\u0000": 1}',
            b'\xef\xbb\xbf{"values": {"starts": 1}}',  # UTF-8 byte order mark
            '{"values": {"starts": 1}}'.encode("utf-16"),
            '{"values": {"水泵": 1}}'.encode("gb18030"),
            b'{"values": {"starts": "\xc0\xaf"}}',  # overlong encoding
            b'{"values": {"starts": "\xed\xa0\x80"}}',  # a surrogate in raw UTF-8
            b"\x00" * 64,
            b"",
            b"null",
            b"offline\x00",
        ]
    ),
    st.binary(max_size=256),
)
hostile = st.tuples(st.sampled_from(TOPICS), documents | handmade)

# --------------------------------------------------------------------------- the rig


class Rig:
    """A broker, a ``plantroom collect`` process on it, a publisher, and the store."""

    def __init__(self, broker: Mosquitto, workdir: Path) -> None:
        self.workdir = workdir
        self.endpoint = MqttEndpoint.parse(broker.url)
        env = {
            **os.environ,
            "PLANTROOM_MQTT_URL": broker.url,
            "PLANTROOM_TSDB_URL": f"sqlite:///{workdir / 'ts.db'}",
            "PLANTROOM_DB_URL": f"sqlite:///{workdir / 'records.db'}",
            "PLANTROOM_SITE": str(ROOT / "examples" / "site.yaml"),
            "PLANTROOM_DATA_DIR": str(workdir),
            "PLANTROOM_BUFFER_PATH": str(workdir / "buffer.db"),
            "PLANTROOM_MQTT_CLIENT_ID": "hostile-collector",
        }
        self.log = workdir / "collector.log"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "plantroom.cli", "collect"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=open(self.log, "ab"),  # noqa: SIM115 - closed with the process
        )
        self.client: mqtt.Client = make_client(self.endpoint, "hostile-publisher")
        self.client.connect(self.endpoint.host, self.endpoint.port)
        self.client.loop_start()
        self.store = SqliteTimeSeriesStore(workdir / "ts.db")
        self.sequence = itertools.count(1)
        self.wait_subscribed()

    def wait_subscribed(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while " subscribed " not in self.log.read_text(errors="replace"):
            assert self.process.poll() is None, self.log.read_text(errors="replace")
            assert time.monotonic() < deadline, "the collector did not subscribe"
            time.sleep(0.05)

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(10)

    def good_message_is_stored(self, timeout: float = 30) -> None:
        """Publish a good reading and wait for it in the store: ingestion goes on."""
        n = next(self.sequence)
        ts = (
            datetime.now(UTC).replace(microsecond=0)
            - timedelta(seconds=1)
            + n * timedelta(milliseconds=1)
        )
        value = 1_000_000.0 + n
        body = {"ts": int(ts.timestamp() * 1000), "values": {"starts": value}}
        self.publish(PUMP, json.dumps(body).encode())
        deadline = time.monotonic() + timeout
        while True:
            rows = self.store.history(
                "pump-domestic-1", "starts", ts, ts + timedelta(milliseconds=1)
            )
            if any(isinstance(r, Reading) and r.value == value for r in rows):
                return
            assert self.process.poll() is None, "collector died:\n" + self.log.read_text(
                errors="replace"
            )
            assert time.monotonic() < deadline, f"good message {n} not stored"
            time.sleep(0.02)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        self.store.close()
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(20)


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    workdir = tmp_path_factory.mktemp("hostile")
    broker = start_mosquitto(workdir / "mosquitto")
    made = Rig(broker, workdir)
    yield made
    made.close()
    broker.stop()


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,  # the same bounded run every time
    derandomize=True,
)
@given(messages=st.lists(hostile, min_size=1, max_size=3))
def test_hostile_payloads_never_stop_collection(
    rig: Rig, messages: list[tuple[str, bytes]]
) -> None:
    for topic, payload in messages:
        rig.publish(topic, payload)
    rig.good_message_is_stored()
    assert rig.process.poll() is None


def test_after_the_hostile_run_the_collector_is_up_and_kept_what_it_refused(rig: Rig) -> None:
    rig.publish(PUMP, b'{"values": {"\\ud800": 1}}')  # the poison of issue 11, once more
    rig.good_message_is_stored()
    log = rig.log.read_text(errors="replace")
    assert rig.process.poll() is None
    assert "Traceback" not in log and "internal error" not in log, log
    records = RecordsDB(f"sqlite:///{rig.workdir / 'records.db'}")
    letters = records.dead_letters(limit=1000)
    records.close()
    assert letters, "hostile messages are kept as dead letters"
    for letter in letters:
        letter.reason.encode("utf-8")  # stored escaped: always encodable
        assert len(letter.reason) <= 1000
