"""Three collectors in one shared-subscription group on mosquitto; one is SIGKILLed. Nothing is
lost or stored twice whether it stays dead or comes back, and the readings the broker had
given it are stored as soon as a live member has taken its session over."""

from __future__ import annotations

import re
import statistics
import time
from pathlib import Path

import httpx

from core.endpoints import MqttEndpoint
from tests.reliability.harness import (
    ArrivalMonitor,
    PlantroomProcess,
    SequencePublisher,
    account,
    collector_env,
    missing,
    wait_for_all,
    wait_published,
)
from tests.servers.mosquitto import Mosquitto, start_mosquitto
from tests.servers.ports import free_port

COUNT = 1500


def start_group(
    tmp_path: Path, mqtt_url: str, metrics_ports: dict[str, int] | None = None
) -> list[PlantroomProcess]:
    """Three members, started one after another (each subscribed before the next starts,
    as an operator scales out); the caller stops them."""
    collectors = []
    for i in range(3):
        env = collector_env(tmp_path, mqtt_url, f"c{i}")
        if metrics_ports and f"c{i}" in metrics_ports:
            env["PLANTROOM_METRICS_PORT"] = str(metrics_ports[f"c{i}"])
        collectors.append(PlantroomProcess(["collect"], env, tmp_path / f"c{i}.log"))
    return collectors


def start(collectors: list[PlantroomProcess]) -> None:
    for collector in collectors:
        collector.start()
        collector.wait_subscribed()


def takeovers(tmp_path: Path) -> list[str]:
    """The takeover lines of every collector's log."""
    return [
        line
        for log in sorted(tmp_path.glob("c*.log"))
        for line in log.read_text().splitlines()
        if "took over" in line or "takeover stopped" in line
    ]


def report(what: str, monitor: ArrivalMonitor, publisher: SequencePublisher) -> dict[str, float]:
    delays = sorted(monitor.delays(publisher.published_at).values())
    figures = {
        "median": statistics.median(delays),
        "p99": delays[int(len(delays) * 0.99) - 1],
        "max": delays[-1],
        "over_1s": sum(1 for d in delays if d > 1.0),
    }
    print(
        f"{what}: delay from publish to store "
        + " ".join(f"{k}={v:.2f}" for k, v in figures.items())
    )
    return figures


def test_one_of_three_killed_and_not_restarted(mosquitto: Mosquitto, tmp_path: Path) -> None:
    collectors = start_group(tmp_path, mosquitto.url)
    publisher = SequencePublisher(MqttEndpoint.parse(mosquitto.url), COUNT)
    monitor = ArrivalMonitor(tmp_path / "ts.db")
    monitor.start()
    try:
        start(collectors)
        publisher.start()
        wait_published(publisher, COUNT // 3)
        collectors[0].kill()  # SIGKILL, and it stays dead
        publisher.join(120)
        loss = wait_for_all(tmp_path / "ts.db", COUNT)
        time.sleep(0.2)  # the monitor's last look
    finally:
        monitor.stop()
        for collector in collectors:
            collector.stop()
    assert (loss.lost, loss.duplicated) == (0, 0), (loss, missing(tmp_path / "ts.db", COUNT))
    lines = takeovers(tmp_path)
    print("\n".join(lines))
    report("one of three killed, not restarted", monitor, publisher)
    # exactly one live member took the dead one's session over and emptied it
    drained = [line for line in lines if "member=c0" in line and "outcome=drained" in line]
    assert len(drained) == 1, lines
    assert int(re.search(r"messages=(\d+)", drained[0]).group(1)) > 0  # type: ignore[union-attr]
    logs = "".join(log.read_text() for log in tmp_path.glob("c*.log"))
    assert "broker queue probe kept=2000" in logs  # the probe found the broker's queue enough


def test_one_of_three_killed_and_restarted(mosquitto: Mosquitto, tmp_path: Path) -> None:
    port = free_port()
    collectors = start_group(tmp_path, mosquitto.url, {"c0": port})
    publisher = SequencePublisher(MqttEndpoint.parse(mosquitto.url), COUNT)
    monitor = ArrivalMonitor(tmp_path / "ts.db")
    monitor.start()
    try:
        start(collectors)
        publisher.start()
        wait_published(publisher, COUNT // 3)
        collectors[0].kill()
        time.sleep(1.0)  # as a supervisor would restart it
        collectors[0].start()
        collectors[0].wait_subscribed(times=2)
        rejoined_at = publisher.published
        publisher.join(120)
        loss = wait_for_all(tmp_path / "ts.db", COUNT)
        time.sleep(0.2)
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    finally:
        monitor.stop()
        for collector in collectors:
            collector.stop()
    assert (loss.lost, loss.duplicated) == (0, 0), (loss, missing(tmp_path / "ts.db", COUNT))
    print("\n".join(takeovers(tmp_path)))
    report("one of three killed, restarted after 1 s", monitor, publisher)
    # the restarted member is back in the group's round-robin: it gets its share again
    received = re.search(r"^plantroom_mqtt_messages_total (\S+)$", metrics, re.M)
    assert received is not None, metrics
    count = float(received.group(1))
    print(f"restarted member: {count:.0f} messages after rejoining at message {rejoined_at}")
    assert rejoined_at < COUNT * 0.9 and count > 0


def test_one_of_three_frozen_is_taken_over_after_its_keepalive(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    # A hung machine or a cut cable: no connection is closed, so the broker announces the
    # member dead only when 1.5 x its 15 s keepalive has passed without a packet from it.
    collectors = start_group(tmp_path, mosquitto.url)
    publisher = SequencePublisher(MqttEndpoint.parse(mosquitto.url), COUNT, interval=0.02)
    monitor = ArrivalMonitor(tmp_path / "ts.db")
    monitor.start()
    try:
        start(collectors)
        publisher.start()
        wait_published(publisher, COUNT // 3)
        collectors[0].freeze()
        publisher.join(120)
        loss = wait_for_all(tmp_path / "ts.db", COUNT, timeout=120)
        time.sleep(0.2)
        collectors[0].thaw()  # it finds its connection gone, reconnects and rejoins
        collectors[0].wait_subscribed(times=2)
    finally:
        monitor.stop()
        for collector in collectors:
            if collector.process is not None and collector.process.poll() is None:
                collector.thaw()  # a stopped process would not see SIGTERM
            collector.stop()
    after = account(tmp_path / "ts.db", COUNT)
    assert (loss.lost, loss.duplicated) == (0, 0), (loss, missing(tmp_path / "ts.db", COUNT))
    assert after.duplicated == 0  # what it still held when it woke was stored once
    lines = takeovers(tmp_path)
    print("\n".join(lines))
    figures = report("one of three frozen (SIGSTOP), then thawed", monitor, publisher)
    assert any("member=c0" in line and "outcome=drained" in line for line in lines), lines
    # its share waited for the broker to give up on it: well past a second, so the
    # takeover (not the member) stored it
    assert figures["over_1s"] > 0


def test_collector_warns_when_the_broker_queue_is_too_short(tmp_path: Path) -> None:
    broker = start_mosquitto(tmp_path / "mosquitto", extra_config="max_queued_messages 1000\n")
    collector = PlantroomProcess(
        ["collect"], collector_env(tmp_path, broker.url, "c0"), tmp_path / "c0.log"
    )
    try:
        collector.start()
        collector.wait_subscribed()
        deadline = time.monotonic() + 60
        while "broker queue" not in collector.log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        collector.stop()
        broker.stop()
    lines = [line for line in collector.log.read_text().splitlines() if "broker queue" in line]
    assert len(lines) == 1 and "warning" in lines[0] and "kept=1000 asked=2000" in lines[0], lines
