"""The MQTT collector: subscribe (QoS 1, persistent session, optional shared subscription),
decode with the site's topic routes, hand readings to the sink, acknowledge once stored.

Bad messages never stop ingestion: each is counted, kept as a dead letter, and logged once
per topic with its reason. Machines that stop publishing get ``stale`` readings.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import paho.mqtt.client as mqtt

from collectors.mqtt.payloads import PayloadError, TopicRouter
from collectors.sink import ReadingSink
from core.catalogue import load_catalogue
from core.clock import Clock, SystemClock
from core.endpoints import MqttEndpoint
from core.logs import FailureTracker, event
from core.metrics import METRICS, Metrics
from core.mqttclient import make_client
from core.readings import Quality, Reading
from core.site import Equipment, Site
from storage.records import DeadLetter

log = logging.getLogger("plantroom.collector.mqtt")

_MAX_LOGGED_TOPICS = 10_000


@dataclass(frozen=True, slots=True)
class MqttCollectorSettings:
    endpoint: MqttEndpoint
    client_id: str = "plantroom-collector"
    # "$share/<group>/…" lets several collectors split the load. The embedded amqtt broker
    # ignores shared subscriptions, so this is None against it (DESIGN §6).
    share_group: str | None = None
    clean_session: bool = False
    manual_ack: bool = True
    stale_check_every: float = 1.0


class MqttCollector:
    def __init__(
        self,
        site: Site,
        sink: ReadingSink,
        settings: MqttCollectorSettings,
        clock: Clock | None = None,
        metrics: Metrics = METRICS,
    ) -> None:
        self.site = site
        self.sink = sink
        self.settings = settings
        self.clock = clock or SystemClock()
        self.metrics = metrics
        self.router = TopicRouter(site)
        self._catalogue = load_catalogue()
        self._machines = [eq for eq in site.equipment if eq.source.mqtt is not None]
        self._last_seen: dict[str, float] = {}
        self._signals_seen: dict[str, set[str]] = {eq.id: set() for eq in self._machines}
        self._stale: set[str] = set()
        self._logged_topics: set[str] = set()
        self._failures = FailureTracker(log)
        self.connected = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.client = make_client(
            settings.endpoint,
            settings.client_id,
            clean_session=settings.clean_session,
            manual_ack=settings.manual_ack,
        )
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    # ------------------------------------------------------------ paho thread callbacks

    def _filters(self) -> list[str]:
        group = self.settings.share_group
        filters = self.router.subscriptions()
        return [f"$share/{group}/{f}" for f in filters] if group else filters

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            self._failures.failed(
                "mqtt-broker",
                f"connection refused: {reason}",
                broker=self.settings.endpoint.redacted(),
            )
            return
        client.subscribe([(f, 1) for f in self._filters()])
        self._failures.recovered("mqtt-broker", broker=self.settings.endpoint.redacted())
        event(log, "subscribed", filters=",".join(self._filters()))
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.connected.set)

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.connected.clear)
        if reason.is_failure:
            self._failures.failed(
                "mqtt-broker", f"disconnected: {reason}", broker=self.settings.endpoint.redacted()
            )

    def _on_message(self, client: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        received_at = self.clock.now()
        self.metrics.inc("plantroom_mqtt_messages_total", help="MQTT messages received")
        mid, qos = msg.mid, msg.qos

        def ack() -> None:
            if self.settings.manual_ack:
                client.ack(mid, qos)

        try:
            decoded = self.router.decode(msg.topic, bytes(msg.payload), received_at)
        except PayloadError as err:
            self._reject(msg.topic, bytes(msg.payload), str(err))
            self.sink.submit([], ack)
            return
        eq_id = decoded.equipment
        if decoded.online is not None:
            self._on_status(eq_id, decoded.online, received_at, ack)
            return
        if decoded.problems:
            self._reject(msg.topic, bytes(msg.payload), "; ".join(decoded.problems))
        self._last_seen[eq_id] = self.clock.monotonic()
        self._signals_seen[eq_id].update(r.signal for r in decoded.readings)
        if eq_id in self._stale:
            self._stale.discard(eq_id)
            self._failures.recovered(f"stale:{eq_id}")
        self.sink.submit(decoded.readings, ack)

    def _reject(self, topic: str, payload: bytes, reason: str) -> None:
        kind = reason.split(":")[0]
        self.metrics.inc(
            "plantroom_mqtt_rejected_total", reason=kind, help="MQTT messages kept as dead letters"
        )
        if topic not in self._logged_topics and len(self._logged_topics) < _MAX_LOGGED_TOPICS:
            self._logged_topics.add(topic)
            event(
                log,
                "rejected message",
                logging.WARNING,
                topic=topic,
                reason=reason,
                note="further rejects on this topic are counted, not logged",
            )
        self.sink.dead_letter(
            DeadLetter(self.clock.now(), "mqtt", topic, reason, bytes(payload), len(payload))
        )

    def _on_status(self, eq_id: str, online: bool, now: Any, ack: Any) -> None:
        if online:
            self._failures.recovered(f"offline:{eq_id}")
            self.sink.submit([], ack)
            return
        self._failures.failed(f"offline:{eq_id}", "device reported offline on its status topic")
        eq = self.site.machine(eq_id)
        readings = [
            Reading(eq_id, s, now, None, Quality.COMM_FAULT, "device offline (status topic)")
            for s in self._expected_signals(eq)
        ]
        self.sink.submit(readings, ack)

    def _expected_signals(self, eq: Equipment) -> list[str]:
        seen = self._signals_seen.get(eq.id)
        if seen:
            return sorted(seen)
        mqtt_source = eq.source.mqtt
        if mqtt_source is not None and (mqtt_source.fields or mqtt_source.topics):
            return sorted({*mqtt_source.fields, *mqtt_source.topics})
        return sorted(self._catalogue.kind(eq.kind).signals)

    # ------------------------------------------------------------ event loop side

    def check_stale(self) -> list[Reading]:
        """Mark machines with no message within their ``stale_after`` as stale (once)."""
        now_mono = self.clock.monotonic()
        now = self.clock.now()
        marked: list[Reading] = []
        for eq in self._machines:
            assert eq.source.mqtt is not None
            limit: timedelta = eq.source.mqtt.stale_after
            last = self._last_seen.setdefault(eq.id, now_mono)
            if eq.id in self._stale or now_mono - last < limit.total_seconds():
                continue
            self._stale.add(eq.id)
            reason = f"no data for {limit.total_seconds():g}s"
            self._failures.failed(f"stale:{eq.id}", reason)
            marked += [
                Reading(eq.id, s, now, None, Quality.STALE, reason)
                for s in self._expected_signals(eq)
            ]
        if marked:
            self.sink.submit(marked)
        return marked

    async def run(self, stop: asyncio.Event) -> None:
        """Connect (retrying in the background), collect until ``stop`` is set."""
        self._loop = asyncio.get_running_loop()
        endpoint = self.settings.endpoint
        event(log, "connecting", broker=endpoint.redacted(), client_id=self.settings.client_id)
        self.client.connect_async(endpoint.host, endpoint.port, keepalive=30)
        self.client.loop_start()
        try:
            while not stop.is_set():
                self.check_stale()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.settings.stale_check_every)
        finally:
            self.client.disconnect()
            self.client.loop_stop()
