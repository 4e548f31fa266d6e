"""Simulated devices speak MQTT as real plantroom-native devices do (DESIGN §6): telemetry
as JSON at QoS 1, and a retained ``status`` that is ``online`` while connected and the MQTT
last will ``offline`` when the connection drops."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt

from core.endpoints import MqttEndpoint
from core.logs import event
from core.mqttclient import make_client
from core.readings import ms_from_utc
from core.site import Equipment, Site

log = logging.getLogger("plantroom.simulator.mqtt")


class MqttDevices:
    """One MQTT connection per simulated machine, so each has its own last will."""

    def __init__(self, site: Site, endpoint: MqttEndpoint, machines: list[Equipment]) -> None:
        self.site = site
        self.endpoint = endpoint
        self.clients: dict[str, mqtt.Client] = {}
        self._machines = {eq.id: eq for eq in machines}
        self.silent: set[str] = set()
        self.dropped: set[str] = set()
        self.seq: dict[str, int] = {eq.id: 0 for eq in machines}

    def start(self) -> None:
        for eq in self._machines.values():
            self.clients[eq.id] = self._connect(eq)

    def _connect(self, eq: Equipment) -> mqtt.Client:
        client = make_client(self.endpoint, f"plantroom-sim-{eq.id}", clean_session=True)
        status = self.site.status_topic(eq)
        client.will_set(status, "offline", qos=1, retain=True)

        def on_connect(c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
            if not reason.is_failure:
                c.publish(status, "online", qos=1, retain=True)

        client.on_connect = on_connect
        client.connect_async(self.endpoint.host, self.endpoint.port, keepalive=10)
        client.loop_start()
        return client

    def publish(self, eq_id: str, ts: datetime, values: Mapping[str, float | int | bool]) -> None:
        if eq_id in self.silent or eq_id not in self.clients:
            return
        eq = self._machines[eq_id]
        self.seq[eq_id] += 1
        payload = json.dumps(
            {"ts": ms_from_utc(ts), "seq": self.seq[eq_id], "values": dict(values)}
        )
        self.clients[eq_id].publish(self.site.telemetry_topic(eq), payload, qos=1)

    def serves(self, eq_id: str) -> bool:
        return eq_id in self._machines

    def go_silent(self, eq_id: str, silent: bool = True, drop_connection: bool = False) -> None:
        """Comms loss: stop publishing. With ``drop_connection`` the connection is cut without
        a goodbye, as when a device loses power, so the broker publishes its last will; the
        recovery reconnects and announces ``online`` again."""
        if silent:
            self.silent.add(eq_id)
            if drop_connection and eq_id not in self.dropped:
                self._drop(eq_id)
        else:
            self.silent.discard(eq_id)
            if eq_id in self.dropped:
                self.dropped.discard(eq_id)
                self.clients[eq_id] = self._connect(self._machines[eq_id])
        event(log, "device silent" if silent else "device speaking", equipment=eq_id)

    def _drop(self, eq_id: str) -> None:
        client = self.clients.pop(eq_id, None)
        self.dropped.add(eq_id)
        if client is None:
            return
        client.loop_stop()
        sock = client.socket()
        if isinstance(sock, socket.socket):
            # no DISCONNECT packet: to the broker this is a lost connection, so the will fires
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        # paho has no public "abort"; this closes its socket and wake-up pair without a goodbye
        client._reset_sockets()

    async def wait_online(self, timeout: float = 10.0) -> None:
        """Wait until every connected device has its connection up (for tests and start-up)."""
        deadline = time.monotonic() + timeout
        for eq_id, client in list(self.clients.items()):
            while not client.is_connected():
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{eq_id}: no MQTT connection after {timeout:g}s")
                await asyncio.sleep(0.02)

    def stop(self) -> None:
        for eq_id, client in self.clients.items():
            eq = self._machines[eq_id]
            client.publish(self.site.status_topic(eq), "offline", qos=1, retain=True)
            client.disconnect()
            client.loop_stop()
        self.clients.clear()
