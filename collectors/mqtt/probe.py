"""Ask the broker how many QoS 1 messages it keeps for a disconnected session.

The share group's guarantee (nothing lost when a member dies) rests on the broker keeping a
dead member's messages until a live one takes its session over, and a restarting member's
until it is back. mosquitto drops what is past ``max_queued_messages`` (1,000 by default) and
tells no client its settings, so the collector measures it: a persistent probe session
subscribes and disconnects, ``count`` messages are published to it, and the probe comes back
and counts what was kept.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import paho.mqtt.client as mqtt

from core.endpoints import MqttEndpoint
from core.mqttclient import make_client


def probe_queue_limit(
    endpoint: MqttEndpoint,
    topic: str,
    client_id: str,
    count: int,
    timeout: float = 60.0,
    abort: threading.Event | None = None,
) -> int:
    """Publish ``count`` QoS 1 messages to a disconnected session on ``topic``; return how
    many the broker kept for it (``count`` when it keeps at least that many). Setting
    ``abort`` (the collector stopping) ends it early with TimeoutError."""
    stop = abort or threading.Event()
    _session(endpoint, client_id, clean=True, subscribe=None, abort=stop)  # an old probe's
    _session(endpoint, client_id, clean=False, subscribe=topic, abort=stop)
    try:
        _publish(endpoint, f"{client_id}-pub", topic, count, timeout, stop)
        return _collect(endpoint, client_id, count, timeout, stop)
    finally:
        if not stop.is_set():
            _session(endpoint, client_id, clean=True, subscribe=None, abort=stop)


def _session(
    endpoint: MqttEndpoint,
    client_id: str,
    clean: bool,
    subscribe: str | None,
    abort: threading.Event,
) -> None:
    client = make_client(endpoint, client_id, clean_session=clean)
    done = threading.Event()

    def on_connect(c: mqtt.Client, _u: Any, _f: Any, _r: Any, _p: Any) -> None:
        if subscribe is None:
            done.set()
        else:
            c.subscribe(subscribe, 1)

    client.on_connect = on_connect
    client.on_subscribe = lambda *_: done.set()
    _run(client, endpoint, done, 10.0, abort)


def _publish(
    endpoint: MqttEndpoint,
    client_id: str,
    topic: str,
    count: int,
    timeout: float,
    abort: threading.Event,
) -> None:
    client = make_client(endpoint, client_id, max_inflight=1000)
    acked = 0
    done = threading.Event()

    def on_publish(_c: mqtt.Client, _u: Any, _mid: int, _r: Any, _p: Any) -> None:
        nonlocal acked
        acked += 1
        if acked >= count:
            done.set()

    def on_connect(c: mqtt.Client, _u: Any, _f: Any, _r: Any, _p: Any) -> None:
        for _ in range(count):
            c.publish(topic, b"p", qos=1)

    client.on_connect = on_connect
    client.on_publish = on_publish
    _run(client, endpoint, done, timeout, abort)


def _collect(
    endpoint: MqttEndpoint, client_id: str, count: int, timeout: float, abort: threading.Event
) -> int:
    client = make_client(endpoint, client_id, clean_session=False)
    received = 0
    last = time.monotonic()
    done = threading.Event()

    def on_message(_c: mqtt.Client, _u: Any, _m: mqtt.MQTTMessage) -> None:
        nonlocal received, last
        received += 1
        last = time.monotonic()
        if received >= count:
            done.set()

    client.on_message = on_message
    client.connect(endpoint.host, endpoint.port, keepalive=15)
    client.loop_start()
    try:
        deadline = time.monotonic() + timeout
        # the broker sends what it kept at once: a second without more means that was all
        while not done.wait(0.1):
            if abort.is_set():
                raise TimeoutError("queue probe: stopped")
            if time.monotonic() - last > 1.0 or time.monotonic() > deadline:
                break
        return received
    finally:
        client.disconnect()
        client.loop_stop()


def _run(
    client: mqtt.Client,
    endpoint: MqttEndpoint,
    done: threading.Event,
    timeout: float,
    abort: threading.Event,
) -> None:
    client.connect(endpoint.host, endpoint.port, keepalive=15)
    client.loop_start()
    try:
        deadline = time.monotonic() + timeout
        while not done.wait(0.1):
            if abort.is_set():
                raise TimeoutError("queue probe: stopped")
            if time.monotonic() > deadline:
                raise TimeoutError(f"queue probe: no answer from the broker within {timeout:g}s")
    finally:
        client.disconnect()
        client.loop_stop()
