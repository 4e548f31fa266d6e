"""Inject faults into a running simulation over MQTT.

The simulator listens on ``plantroom/_simulator/{site}/control`` for a JSON command, the same
shape as a scenario step without ``at``::

    {"equipment": "pump-domestic-1", "inject": "trip", "params": {"code": 12}}
    {"select": {"kind": "elevator"}, "clear": "entrapment"}

and answers each on ``plantroom/_simulator/{site}/result`` with ``{"ok": true, "equipment":
…}`` or ``{"ok": false, "error": …}``, echoing ``"id"`` if the command had one. The topics sit
outside ``plantroom/{site}/#``, so collectors never see them.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import uuid
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from pydantic import ValidationError

from core.endpoints import MqttEndpoint
from core.logs import event
from core.mqttclient import make_client
from simulators.scenario import Action

log = logging.getLogger("plantroom.simulator.control")


def control_topic(site_id: str) -> str:
    return f"plantroom/_simulator/{site_id}/control"


def result_topic(site_id: str) -> str:
    return f"plantroom/_simulator/{site_id}/result"


class Command:
    """A command received, waiting for the simulation to apply it at its next step."""

    def __init__(
        self, action: Action, request_id: str | None, reply: Callable[[dict[str, Any]], None]
    ):
        self.action = action
        self.request_id = request_id
        self._reply = reply

    def done(self, equipment: str) -> None:
        self._reply({"ok": True, "id": self.request_id, "equipment": equipment})

    def failed(self, error: str) -> None:
        self._reply({"ok": False, "id": self.request_id, "error": error})


class ControlListener:
    """Receives commands on the control topic (paho thread) and queues them for the loop."""

    def __init__(self, site_id: str, endpoint: MqttEndpoint) -> None:
        self.site_id = site_id
        self.endpoint = endpoint
        self.commands: queue.SimpleQueue[Command] = queue.SimpleQueue()
        self.client = make_client(endpoint, f"plantroom-sim-control-{site_id}")
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.subscribed = threading.Event()

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if not reason.is_failure:
            client.subscribe(control_topic(self.site_id), qos=1)

    def _on_subscribe(self, *_args: Any) -> None:
        self.subscribed.set()

    def _reply(self, body: dict[str, Any]) -> None:
        self.client.publish(result_topic(self.site_id), json.dumps(body, ensure_ascii=False), 1)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        request_id: str | None = None
        try:
            body = json.loads(bytes(msg.payload).decode("utf-8"))
            if not isinstance(body, dict):
                raise ValueError("a command is a JSON object")
            raw_id = body.pop("id", None)
            request_id = None if raw_id is None else str(raw_id)
            action = Action.model_validate(body)
        except (ValueError, ValidationError) as err:
            text = (
                str(err).splitlines()[0]
                if not isinstance(err, ValidationError)
                else "; ".join(
                    f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}" for e in err.errors()
                )
            )
            event(log, "bad control command", logging.WARNING, error=text)
            self._reply({"ok": False, "id": request_id, "error": text})
            return
        self.commands.put(Command(action, request_id, self._reply))

    def start(self) -> None:
        self.client.on_subscribe = self._on_subscribe
        self.client.connect_async(self.endpoint.host, self.endpoint.port, keepalive=30)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def send_command(
    endpoint: MqttEndpoint, site_id: str, command: dict[str, Any], timeout: float = 10.0
) -> dict[str, Any]:
    """Publish one command to a running simulation and wait for its answer."""
    request_id = uuid.uuid4().hex
    answers: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
    client = make_client(endpoint, f"plantroom-inject-{request_id[:8]}")

    def on_connect(c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if not reason.is_failure:
            c.subscribe(result_topic(site_id), qos=1)

    def on_subscribe(c: mqtt.Client, *_args: Any) -> None:
        body = json.dumps({**command, "id": request_id}, ensure_ascii=False)
        c.publish(control_topic(site_id), body, qos=1)

    def on_message(_c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            answer = json.loads(bytes(msg.payload).decode("utf-8"))
        except ValueError:
            return
        if isinstance(answer, dict) and answer.get("id") == request_id:
            answers.put(answer)

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    client.connect_async(endpoint.host, endpoint.port, keepalive=30)
    client.loop_start()
    try:
        return answers.get(timeout=timeout)
    except queue.Empty:
        raise TimeoutError(
            f"no answer from a simulator of site {site_id} at {endpoint.redacted()} "
            f"within {timeout:g}s (is `plantroom simulate` running?)"
        ) from None
    finally:
        client.disconnect()
        client.loop_stop()
