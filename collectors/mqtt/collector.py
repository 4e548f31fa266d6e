"""The MQTT collector: subscribe (QoS 1, persistent session, optional shared subscription),
decode with the site's topic routes, hand readings to the sink, acknowledge once stored.

Bad messages never stop ingestion: each is counted, kept as a dead letter, and logged once
per topic with its reason. ``MqttCollector._on_message`` is the per-message error boundary:
whatever else goes wrong with one message (a bug, a payload nobody foresaw), that message is
dead-lettered, or at worst counted and logged, and acknowledged, so that a poison message the
broker would redeliver at every start cannot stop collection. Machines that stop publishing
get ``stale`` readings, judged by arrival time (see ``collectors/mqtt/timing.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import traceback
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import paho.mqtt.client as mqtt

from collectors.mqtt.group import ShareGroup
from collectors.mqtt.payloads import Decoded, PayloadError, Reject, TopicRouter
from collectors.mqtt.timing import DEFAULT_MAX_SKEW, Timekeeper
from collectors.sink import ReadingSink
from core.catalogue import load_catalogue
from core.clock import Clock, SystemClock
from core.endpoints import MqttEndpoint
from core.logs import FailureTracker, event
from core.metrics import METRICS, Metrics
from core.mqttclient import BrokerUnusable, connect_problem, is_unusable, make_client
from core.readings import Quality, Reading
from core.site import Equipment, Site
from core.text import safe_text
from storage.records import DeadLetter

log = logging.getLogger("plantroom.collector.mqtt")

_MAX_LOGGED_TOPICS = 10_000


class _Ack:
    """Acknowledges one message at most once, however many paths reach it."""

    __slots__ = ("_client", "_done", "_mid", "_qos")

    def __init__(self, client: mqtt.Client | None, mid: int, qos: int) -> None:
        self._client, self._mid, self._qos = client, mid, qos
        self._done = client is None  # without manual acks paho has already acknowledged

    def __call__(self) -> None:
        if not self._done:
            self._done = True
            assert self._client is not None
            self._client.ack(self._mid, self._qos)


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
    # device clocks further off than this are not trusted (stored at arrival, reported)
    max_clock_skew: timedelta = DEFAULT_MAX_SKEW
    # a dead member is announced by the broker 1.5 x keepalive after its connection went
    # silent (at once when its process dies): this bounds how late its share is taken over
    keepalive: int = 15
    # in a share group: how many queued messages the broker must keep for a disconnected
    # session (measured at start, warned about when short); 0 skips the probe
    queue_probe: int = 10_000


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
        self.timekeeper = Timekeeper(settings.max_clock_skew)
        self.router = TopicRouter(site, timekeeper=self.timekeeper)
        self._catalogue = load_catalogue()
        self._machines = [eq for eq in site.equipment if eq.source.mqtt is not None]
        self._last_seen: dict[str, float] = {}
        self._signals_seen: dict[str, set[str]] = {eq.id: set() for eq in self._machines}
        self._stale: set[str] = set()
        self._logged_topics: set[str] = set()
        self._skewed: set[str] = set()
        self._skew_exported: dict[str, float] = {}
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
        self.client.on_connect_fail = self._on_connect_fail
        # in a share group, live members take over the session of one that dies (group.py)
        self.group: ShareGroup | None = None
        if settings.share_group:
            self.group = ShareGroup(
                settings.endpoint,
                settings.share_group,
                settings.client_id,
                self._filters,
                self._on_message,
                queue_probe=settings.queue_probe,
            )
            self.group.set_will(self.client)

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
        if self.group is not None:
            self.group.joined(client)
        self._failures.recovered("mqtt-broker", broker=self.settings.endpoint.redacted())
        event(log, "subscribed", filters=",".join(self._filters()))
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.connected.set)

    def _on_connect_fail(self, _c: mqtt.Client, _u: Any) -> None:
        self._failures.failed(
            "mqtt-broker",
            "cannot connect; retrying in the background",
            broker=self.settings.endpoint.redacted(),
        )

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.connected.clear)
        if reason.is_failure:
            self._failures.failed(
                "mqtt-broker", f"disconnected: {reason}", broker=self.settings.endpoint.redacted()
            )

    def _on_message(self, client: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        """paho's callback, and the per-message error boundary (issue 11): nothing one message
        does may escape into paho's thread, which would stop collection, or leave the message
        unacknowledged, which would make the broker hand it over again at every start."""
        ack = _Ack(client if self.settings.manual_ack else None, msg.mid, msg.qos)
        try:
            self._ingest(msg, ack)
        except Exception as err:
            self._poisoned(msg, ack, err)

    def _ingest(self, msg: mqtt.MQTTMessage, ack: _Ack) -> None:
        received_at = self.clock.now()
        self.metrics.inc("plantroom_mqtt_messages_total", help="MQTT messages received")
        try:
            decoded = self.router.decode(msg.topic, bytes(msg.payload), received_at)
        except PayloadError as err:
            self._reject(msg.topic, bytes(msg.payload), str(err), err.kind)
            self.sink.submit([], ack)
            return
        eq_id = decoded.equipment
        if decoded.online is not None:
            self._on_status(eq_id, decoded.online, ack)
            return
        if decoded.problems:
            rejected = decoded.rejected or Reject.BAD_VALUE
            self._reject(msg.topic, bytes(msg.payload), "; ".join(decoded.problems), rejected)
        if decoded.stamp is not None and decoded.stamp.skew is not None:
            self._clock_skew(eq_id, decoded)
        self._last_seen[eq_id] = self.clock.monotonic()
        self._signals_seen[eq_id].update(r.signal for r in decoded.readings)
        if eq_id in self._stale:
            self._stale.discard(eq_id)
            self._failures.recovered(f"stale:{eq_id}")
        self.sink.submit(decoded.readings, ack)

    def _poisoned(self, msg: mqtt.MQTTMessage, ack: _Ack, err: Exception) -> None:
        """A message raised something unforeseen: count it, log it once, keep it as a dead
        letter, acknowledge it. Each step is guarded: the boundary itself must not fail."""
        self.metrics.inc(
            "plantroom_mqtt_errors_total",
            help="MQTT messages whose handling failed unexpectedly (dead-lettered and acked)",
        )
        topic = _topic_of(msg)
        frame = traceback.extract_tb(err.__traceback__)[-1:] if err.__traceback__ else []
        where = f" at {frame[0].filename.rsplit('/', 1)[-1]}:{frame[0].lineno}" if frame else ""
        reason = safe_text(f"internal error: {type(err).__name__}{where}: {err}")
        try:
            payload = bytes(msg.payload)
            self._reject(topic, payload, reason, Reject.INTERNAL_ERROR)
        except Exception as second:
            event(
                log,
                "could not keep a message as a dead letter",
                logging.ERROR,
                topic=safe_text(topic, 200),
                reason=reason,
                error=safe_text(f"{type(second).__name__}: {second}"),
            )
        try:
            self.sink.submit([], ack)
        except Exception:
            ack()  # the sink refused (e.g. shutting down): acknowledge from here instead

    def _reject(self, topic: str, payload: bytes, reason: str, kind: Reject) -> None:
        self.metrics.inc(
            "plantroom_mqtt_rejected_total",
            reason=kind.value,
            help="MQTT messages kept as dead letters, by kind of problem",
        )
        if topic not in self._logged_topics and len(self._logged_topics) < _MAX_LOGGED_TOPICS:
            self._logged_topics.add(topic)
            event(
                log,
                "rejected message",
                logging.WARNING,
                topic=safe_text(topic, 200),
                reason=safe_text(reason),
                note="further rejects on this topic are counted, not logged",
            )
        self.sink.dead_letter(
            DeadLetter(self.clock.now(), "mqtt", topic, reason, bytes(payload), len(payload))
        )

    def _clock_skew(self, eq_id: str, decoded: Decoded) -> None:
        """Count and show, per machine, a device clock beyond ``max_clock_skew``."""
        stamp = decoded.stamp
        assert stamp is not None and stamp.skew is not None
        # the gauge follows the device's clock to the second, without a write per message
        if abs(self._skew_exported.get(eq_id, 0.0) - stamp.skew) >= 1.0 or stamp.skewed:
            self._skew_exported[eq_id] = stamp.skew
            self.metrics.set(
                "plantroom_mqtt_clock_skew_seconds",
                round(stamp.skew, 1),
                equipment=eq_id,
                help="Device clock minus arrival time at its last message (negative: behind)",
            )
        if stamp.skewed:
            self.metrics.inc(
                "plantroom_mqtt_clock_skew_total",
                equipment=eq_id,
                help="Messages whose device time was further than the bound from arrival time",
            )
            if eq_id not in self._skewed:
                self._skewed.add(eq_id)
                self._failures.failed(
                    f"clock-skew:{eq_id}",
                    f"device clock {stamp.skew:+.0f}s from the collector's, beyond "
                    f"{self.settings.max_clock_skew.total_seconds():g}s: "
                    "storing its readings at arrival time",
                )
        elif eq_id in self._skewed:
            self._skewed.discard(eq_id)
            self._failures.recovered(f"clock-skew:{eq_id}", skew=f"{stamp.skew:+.1f}s")

    def _on_status(self, eq_id: str, online: bool, ack: _Ack) -> None:
        if online:
            self._failures.recovered(f"offline:{eq_id}")
            self.sink.submit([], ack)
            return
        self._failures.failed(f"offline:{eq_id}", "device reported offline on its status topic")
        eq = self.site.machine(eq_id)
        now = self.timekeeper.mark(eq_id, self.clock.now())
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
            at = self.timekeeper.mark(eq.id, now)  # sorts after anything the machine sent
            marked += [
                Reading(eq.id, s, at, None, Quality.STALE, reason)
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
        keepalive = self.settings.keepalive
        # the first connection here, to learn why it fails: paho's own retries only say that
        try:
            await asyncio.to_thread(self.client.connect, endpoint.host, endpoint.port, keepalive)
        except OSError as err:
            if is_unusable(err):
                raise BrokerUnusable(connect_problem(endpoint, err)) from None
            self._failures.failed(
                "mqtt-broker", f"{connect_problem(endpoint, err)}; retrying in the background"
            )
            self.client.connect_async(endpoint.host, endpoint.port, keepalive=keepalive)
        self.client.loop_start()
        group = None if self.group is None else asyncio.ensure_future(self.group.run(stop))
        try:
            while not stop.is_set():
                self.check_stale()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.settings.stale_check_every)
        finally:
            if self.group is not None:
                await asyncio.to_thread(self.group.leaving, self.client)
            if group is not None:
                await group
            self.client.disconnect()
            self.client.loop_stop()


def _topic_of(msg: mqtt.MQTTMessage) -> str:
    """The message's topic, even when it is not valid UTF-8 (paho's ``topic`` raises then)."""
    try:
        return str(msg.topic)
    except Exception:
        raw: bytes = getattr(msg, "_topic", b"")
        return raw.decode("utf-8", "replace")
