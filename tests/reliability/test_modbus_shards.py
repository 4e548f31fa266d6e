"""Two `plantroom collect` processes split the Modbus gateways and share the MQTT load.

Real parts throughout: mosquitto, pymodbus gateways from ``simulators/`` on free ports, two
collector processes writing one SQLite store. Which process polls a gateway is read from the
operating system (whose sockets are connected to the gateway's port), not from our own logs.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import yaml

from collectors.modbus.shards import Shard, assign
from core.endpoints import MqttEndpoint
from core.site import Site, parse_site
from simulators.modbus_devices import ModbusDevices
from tests.reliability.harness import (
    ROOT,
    PlantroomProcess,
    SequencePublisher,
    account,
    collector_env,
    missing,
)
from tests.servers.mosquitto import Mosquitto
from tests.servers.ports import free_port

EXAMPLE = ROOT / "examples" / "site.yaml"
MESSAGES = 300


def shard_site(tmp_path: Path) -> tuple[Path, Site]:
    """The example site on free ports, the fire panel pinned to the collector named 'north';
    ports are drawn until each of two shards gets one of the two hashed gateways."""
    raw: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    folder = tmp_path / "site"
    shutil.copytree(EXAMPLE.parent / "maps", folder / "maps")
    for _ in range(50):
        ports: dict[int, int] = {}
        for eq in raw["equipment"]:
            modbus = eq["source"].get("modbus")
            if modbus is None:
                continue
            modbus["port"] = ports.setdefault(modbus["port"], free_port())
            modbus["poll_interval"] = "250ms"
            if eq["id"] == "firepanel-1":
                modbus["collector"] = "north"
        site = parse_site(raw, base=folder)
        if assign(site, Shard(1, 2)) and assign(site, Shard(2, 2)):
            break
    path = folder / "site.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path, site


def connected_ports(pid: int) -> set[int]:
    """Remote TCP ports that process ``pid`` has established connections to (Linux /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink().name
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            remote, state, inode = fields[2], fields[3], fields[9]
            if state == "01" and inode in inodes:  # 01: ESTABLISHED
                ports.add(int(remote.rsplit(":", 1)[1], 16))
    return ports


def polled_by_log(log: str) -> set[str]:
    """The machines a collector's start-up log says it polls."""
    polled: set[str] = set()
    for line in log.splitlines():
        if " modbus gateway polled here " in line:
            match = re.search(r' equipment=("(?:[^"\\]|\\.)*"|\S+)', line)
            assert match is not None, line
            value = match.group(1)
            polled.update((json.loads(value) if value.startswith('"') else value).split(","))
    return polled


def good_machines(ts_path: Path) -> set[str]:
    if not ts_path.exists():
        return set()
    try:
        with sqlite3.connect(f"file:{ts_path}?mode=ro", uri=True) as db:
            rows = db.execute(
                "SELECT DISTINCT r.equipment FROM latest l JOIN series r ON r.id = l.series_id "
                "WHERE l.quality = 'good'"
            ).fetchall()
    except sqlite3.OperationalError:  # the collectors have not created the schema yet
        return set()
    return {equipment for (equipment,) in rows}


async def until(condition: Any, what: str, timeout: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def test_two_collectors_split_modbus_gateways_and_share_mqtt(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    site_path, site = shard_site(tmp_path)
    modbus_ids = {eq.id for eq in site.equipment if eq.source.modbus is not None}
    port_of = {eq.id: eq.source.modbus.port for eq in site.equipment if eq.source.modbus}
    shares = {"a": assign(site, Shard(1, 2, "north")), "b": assign(site, Shard(2, 2))}
    assert shares["a"] and shares["b"] and not shares["a"] & shares["b"]
    assert shares["a"] | shares["b"] == modbus_ids
    assert "firepanel-1" in shares["a"]  # pinned by name
    assert shares["a"] != {"firepanel-1"}  # and a hashed gateway besides

    devices = ModbusDevices(site)
    await devices.start()
    collectors = {
        name: PlantroomProcess(
            ["collect"],
            {
                **collector_env(tmp_path, mosquitto.url, f"shard-{name}"),
                "PLANTROOM_SITE": str(site_path),
                "PLANTROOM_COLLECTOR_SHARD": shard,
                "PLANTROOM_COLLECTOR_NAME": collector_name,
            },
            tmp_path / f"{name}.log",
        )
        for name, shard, collector_name in (("a", "1/2", "north"), ("b", "2/2", ""))
    }
    publisher = SequencePublisher(MqttEndpoint.parse(mosquitto.url), MESSAGES)
    ts_path = tmp_path / "ts.db"
    try:
        for collector in collectors.values():
            collector.start()
        await until(
            lambda: all(
                c.log.exists() and " subscribed " in c.log.read_text() for c in collectors.values()
            ),
            "both collectors to subscribe",
        )
        publisher.start()
        await until(lambda: modbus_ids <= good_machines(ts_path), "every Modbus machine stored")
        # each gateway is connected from exactly the process whose share it is
        for name, collector in collectors.items():
            assert collector.process is not None
            ports = connected_ports(collector.process.pid)
            other = "b" if name == "a" else "a"
            assert {port_of[eq] for eq in shares[name]} <= ports
            assert not {port_of[eq] for eq in shares[other]} & ports
        await until(lambda: account(ts_path, MESSAGES).lost == 0, "every MQTT message stored")
        await asyncio.to_thread(publisher.join, 60)
    finally:
        for collector in collectors.values():
            collector.stop()
        await devices.stop()
    assert all(server.requests > 0 for server in devices.servers)
    loss = account(ts_path, MESSAGES)
    assert (loss.lost, loss.duplicated) == (0, 0), (loss, missing(ts_path, MESSAGES))
    for name, collector in collectors.items():
        log = collector.log.read_text()
        assert polled_by_log(log) == shares[name], (name, log)
        assert "failed what=timeseries-store" not in log
