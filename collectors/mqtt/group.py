"""Share-group membership: a collector that dies hands its share of the messages to a live one,
instead of leaving it in its session until it comes back.

Measured on mosquitto 2.0.11: a member of a shared subscription with a persistent session stays
in the group's round-robin while it is offline, so every N-th message waits in its session (and
past ``max_queued_messages`` is dropped) until the same client id returns. A clean session would
take a dead member out of the group but lose what the broker had sent it and it had not yet
acknowledged (MQTT 5 §4.8.2: such a message is not given to another member). So collectors keep
persistent sessions and take over a dead member's:

- every member's status is retained on ``plantroom/_collectors/{group}/{client_id}/status``:
  ``online`` when it connects; ``offline`` as its last will, which the broker publishes as soon
  as the process dies (the kernel closes its connection) or 1.5 × keepalive after its machine or
  network goes, and which a member also publishes when it stops;
- for an ``offline`` member, the live member chosen by rendezvous hash connects with the dead
  one's client id: the broker resumes that session and sends what it holds (unacknowledged
  first, then queued), which is stored and acknowledged like any message. It unsubscribes the
  session from the group, so the round-robin skips it from then on, and publishes a marker to
  the session: once the marker has arrived and everything before it is acknowledged, the session
  is empty. It marks the member ``left`` and disconnects;
- a member that comes back connects with its own client id (the broker ends a takeover still in
  progress, and what that had not acknowledged goes back to the member), subscribes, and
  announces itself ``online``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from collectors.mqtt.probe import probe_queue_limit
from core.endpoints import MqttEndpoint
from core.logs import FailureTracker, event
from core.mqttclient import configure_client, make_client

log = logging.getLogger("plantroom.collector.group")

MessageHandler = Callable[[mqtt.Client, Any, mqtt.MQTTMessage], None]


class Status(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"  # its session may hold messages: to be taken over
    LEFT = "left"  # taken over: its session is out of the group and empty


def status_topic(group: str, client_id: str) -> str:
    return f"plantroom/_collectors/{group}/{client_id}/status"


def check_member_id(client_id: str) -> None:
    """A client id in a share group is part of topic names: no ``/``, ``+`` or ``#``."""
    if not client_id or any(c in client_id for c in "/+#"):
        raise ValueError(
            f"PLANTROOM_MQTT_CLIENT_ID {client_id!r} cannot be used in a share group: "
            "it must be non-empty, without '/', '+' or '#'"
        )


def takeover_owner(dead: str, live: Iterable[str]) -> str | None:
    """The live member that takes over ``dead``'s session: every member computes the same one
    from the same statuses (rendezvous hash, so a member joining or leaving moves few)."""
    return max(live, key=lambda m: hashlib.sha256(f"{dead}|{m}".encode()).digest(), default=None)


class _CountingClient(mqtt.Client):
    """Counts acknowledgements, so a drain knows when everything it took is stored."""

    def __init__(self, client_id: str) -> None:
        super().__init__(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=False,  # resume the dead member's session, never discard it
            protocol=mqtt.MQTTv311,
            manual_ack=True,
        )
        self.acked = 0
        self._ack_lock = threading.Lock()

    def ack(self, mid: int, qos: int) -> MQTTErrorCode:
        result = super().ack(mid, qos)
        with self._ack_lock:
            self.acked += 1
        return result


class Takeover:
    """Drains one dead member's session through ``handle`` (blocking: run it in a thread)."""

    def __init__(
        self,
        endpoint: MqttEndpoint,
        group: str,
        member: str,
        filters: list[str],
        handle: MessageHandler,
        timeout: float = 120.0,
    ) -> None:
        self.endpoint = endpoint
        self.group = group
        self.member = member
        self.filters = filters
        self.handle = handle
        self.timeout = timeout
        self.abort = threading.Event()
        self.received = 0  # messages of the session handed to the collector
        self._markers = 0
        self._marker = uuid.uuid4().hex
        self._marker_topic = f"plantroom/_collectors/{group}/{member}/drain"
        self._connected = threading.Event()
        self._gone = threading.Event()  # disconnected: the member came back, or the broker went
        self._marked = threading.Event()
        self._session_present = False
        self._acks: set[int] = set()
        self._acks_changed = threading.Condition()

    def run(self) -> str:
        """Returns ``drained``, ``no session``, or why it stopped early (it is then retried)."""
        client = _CountingClient(self.member)
        configure_client(client, self.endpoint)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_ack
        client.on_unsubscribe = self._on_ack
        try:
            client.connect(self.endpoint.host, self.endpoint.port, keepalive=15)
        except OSError as err:
            return f"connect failed: {err}"
        client.loop_start()
        try:
            return self._drain(client)
        finally:
            client.disconnect()
            client.loop_stop()

    def _drain(self, client: _CountingClient) -> str:
        if not self._wait(self._connected, 10.0):
            return "not connected"
        if not self._session_present:
            self._publish_left(client)
            return "no session"
        _, sub_mid = client.subscribe(self._marker_topic, 1)
        _, unsub_mid = client.unsubscribe(self.filters)  # out of the round-robin from here on
        if not self._wait_acks({sub_mid or 0, unsub_mid or 0}, 10.0):
            return "interrupted" if self._gone.is_set() else "no subscribe/unsubscribe ack"
        client.publish(self._marker_topic, self._marker, qos=1)
        deadline = time.monotonic() + self.timeout
        while not (self._marked.is_set() and client.acked >= self.received + self._markers):
            if self.abort.is_set() or self._gone.is_set():
                return "interrupted"
            if time.monotonic() > deadline:
                return f"not drained within {self.timeout:g}s"
            time.sleep(0.05)
        _, unsub_mid = client.unsubscribe(self._marker_topic)
        self._wait_acks({unsub_mid or 0}, 10.0)
        self._publish_left(client)
        return "drained"

    def _publish_left(self, client: mqtt.Client) -> None:
        info = client.publish(status_topic(self.group, self.member), Status.LEFT, 1, retain=True)
        with contextlib.suppress(RuntimeError, ValueError):
            info.wait_for_publish(5.0)

    def _wait(self, flag: threading.Event, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not flag.is_set():
            if self.abort.is_set() or self._gone.is_set() or time.monotonic() > deadline:
                return False
            flag.wait(0.05)
        return True

    def _wait_acks(self, mids: set[int], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._acks_changed:
            while not mids <= self._acks:
                if self.abort.is_set() or self._gone.is_set() or time.monotonic() > deadline:
                    return False
                self._acks_changed.wait(0.05)
        return True

    # paho thread callbacks

    def _on_connect(self, _c: mqtt.Client, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        if not reason.is_failure:
            self._session_present = bool(flags.session_present)
            self._connected.set()

    def _on_disconnect(self, client: mqtt.Client, _u: Any, _f: Any, _r: Any, _p: Any) -> None:
        self._gone.set()
        # no automatic reconnect: retaking the session would end the member's own connection
        client.disconnect()

    def _on_ack(self, _c: mqtt.Client, _u: Any, mid: int, _r: Any, _p: Any) -> None:
        with self._acks_changed:
            self._acks.add(mid)
            self._acks_changed.notify_all()

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        if msg.topic == self._marker_topic:
            self._markers += 1  # acknowledged here, so counted apart from the readings
            client.ack(msg.mid, msg.qos)
            if bytes(msg.payload).decode("utf-8", "replace") == self._marker:
                self._marked.set()
            return
        self.received += 1
        self.handle(client, userdata, msg)


class ShareGroup:
    """This collector's membership: announces itself, watches the others, takes over the dead
    members it is chosen for."""

    def __init__(
        self,
        endpoint: MqttEndpoint,
        group: str,
        client_id: str,
        filters: Callable[[], list[str]],
        handle: MessageHandler,
        queue_probe: int = 0,
        retry_after: float = 2.0,
        retry_max: float = 60.0,
    ) -> None:
        check_member_id(client_id)
        self.queue_probe = queue_probe
        self.endpoint = endpoint
        self.group = group
        self.client_id = client_id
        self.filters = filters
        self.handle = handle
        self.retry_after = retry_after
        self.retry_max = retry_max
        self.statuses: dict[str, Status] = {}
        self._lock = threading.Lock()
        self._running: dict[str, Takeover] = {}
        # per member: when a takeover may be tried next, and failed tries in a row (backoff)
        self._next_try: dict[str, float] = {}
        self._failed_tries: dict[str, int] = {}
        self._failures = FailureTracker(log)
        # statuses are trusted only while the watcher is connected: with the broker away
        # they are stale, and a takeover could not connect anyway
        self._watching = threading.Event()
        self._probe_abort = threading.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def my_status_topic(self) -> str:
        return status_topic(self.group, self.client_id)

    def set_will(self, client: mqtt.Client) -> None:
        """Before connecting: the broker announces this member ``offline`` when it dies."""
        client.will_set(self.my_status_topic, Status.OFFLINE, qos=1, retain=True)

    def joined(self, client: mqtt.Client) -> None:
        """On every connect (paho thread): this member is ``online`` again."""
        client.publish(self.my_status_topic, Status.ONLINE, qos=1, retain=True)

    def leaving(self, client: mqtt.Client) -> None:
        """On a clean stop: ``offline``, so that a live member takes the session over."""
        info = client.publish(self.my_status_topic, Status.OFFLINE, qos=1, retain=True)
        with contextlib.suppress(RuntimeError, ValueError):
            info.wait_for_publish(2.0)

    def to_take_over(self, now: float) -> list[str]:
        """Offline members this one is chosen for, not already being taken over."""
        if not self._watching.is_set():
            return []
        with self._lock:
            live = {m for m, s in self.statuses.items() if s is Status.ONLINE}
            live.add(self.client_id)
            return [
                member
                for member, status in sorted(self.statuses.items())
                if status is Status.OFFLINE
                and member != self.client_id
                and member not in self._running
                and takeover_owner(member, live) == self.client_id
                and now >= self._next_try.get(member, 0.0)
            ]

    async def run(self, stop: asyncio.Event) -> None:
        """Watch the members' statuses and take over the dead ones until ``stop``."""
        watcher = make_client(self.endpoint, f"{self.client_id}-group", clean_session=True)
        watcher.on_connect = self._watch_connected
        watcher.on_subscribe = self._watch_subscribed
        watcher.on_disconnect = self._watch_lost
        watcher.on_message = self._on_status
        watcher.connect_async(self.endpoint.host, self.endpoint.port, keepalive=15)
        watcher.loop_start()
        if self.queue_probe > 0:
            self._track(asyncio.ensure_future(self._probe()))
        try:
            while not stop.is_set():
                for member in self.to_take_over(time.monotonic()):
                    self._start(member)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.2)
        finally:
            self._probe_abort.set()
            for takeover in list(self._running.values()):
                takeover.abort.set()
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            watcher.disconnect()
            watcher.loop_stop()

    def _start(self, member: str) -> None:
        takeover = Takeover(self.endpoint, self.group, member, self.filters(), self.handle)
        with self._lock:
            self._running[member] = takeover
        event(log, "taking over", member=member, group=self.group)
        self._track(asyncio.ensure_future(self._run_takeover(takeover)))

    def _track(self, task: asyncio.Task[None]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _probe(self) -> None:
        """Warn when the broker would drop part of a dead member's messages before takeover."""
        topic = f"plantroom/_collectors/{self.group}/{self.client_id}/probe"
        try:
            kept = await asyncio.to_thread(
                probe_queue_limit,
                self.endpoint,
                topic,
                f"{self.client_id}-probe",
                self.queue_probe,
                abort=self._probe_abort,
            )
        except (OSError, TimeoutError) as err:
            if not self._probe_abort.is_set():  # else the collector is stopping: no matter
                event(log, "queue probe failed", logging.WARNING, reason=str(err))
            return
        if kept >= self.queue_probe:
            event(log, "broker queue probe", kept=kept, asked=self.queue_probe)
            return
        event(
            log,
            "broker queue too short for the share group",
            logging.WARNING,
            kept=kept,
            asked=self.queue_probe,
            effect="messages for a dead or restarting member past this count are dropped "
            "by the broker before they can be taken over",
            fix="mosquitto: max_queued_messages 0 (or above your message rate x the "
            "takeover bound), max_queued_bytes 0; see README 'Scaling out'",
        )

    async def _run_takeover(self, takeover: Takeover) -> None:
        started = time.monotonic()
        try:
            outcome = await asyncio.to_thread(takeover.run)
        except Exception as err:  # one takeover failing must not stop collection
            outcome = f"{type(err).__name__}: {err}"
        member = takeover.member
        done = outcome in ("drained", "no session")
        with self._lock:
            self._running.pop(member, None)
            tries = 0 if done else self._failed_tries.get(member, 0) + 1
            self._failed_tries[member] = tries
            # a failed try is retried after 2 s, doubling to a minute
            delay = 0.0 if done else min(self.retry_max, self.retry_after * 2 ** (tries - 1))
            self._next_try[member] = time.monotonic() + delay
        if done:
            self._failures.recovered(f"takeover:{member}")
            event(
                log,
                "took over",
                member=member,
                outcome=outcome,
                messages=takeover.received,
                seconds=f"{time.monotonic() - started:.2f}",
            )
        else:  # logged once until it succeeds; retried with backoff meanwhile
            self._failures.failed(f"takeover:{member}", outcome, messages=takeover.received)

    def _watch_connected(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if not reason.is_failure:
            client.subscribe(status_topic(self.group, "+"), 1)

    def _watch_subscribed(self, _c: mqtt.Client, _u: Any, _m: int, _r: Any, _p: Any) -> None:
        self._watching.set()  # the retained statuses arrive before the SUBACK's successors

    def _watch_lost(self, _c: mqtt.Client, _u: Any, _f: Any, _r: Any, _p: Any) -> None:
        self._watching.clear()
        with self._lock:
            self.statuses.clear()  # sent again, retained, when the watcher is back

    def _on_status(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        member = msg.topic.split("/")[3]
        try:
            status = Status(bytes(msg.payload).decode("utf-8", "replace"))
        except ValueError:
            return  # not ours (or an empty payload clearing the retained status)
        with self._lock:
            self.statuses[member] = status
            if status is not Status.OFFLINE:  # back, or emptied: a later death starts afresh
                self._failed_tries.pop(member, None)
                self._next_try.pop(member, None)
