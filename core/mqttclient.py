"""One way to build a paho-mqtt client from an endpoint, shared by collectors and simulators.

paho runs its network loop in a thread of its own (``loop_start``); that is the one thread a
library forces on us, and callers hand work back to their event loop from its callbacks.
"""

from __future__ import annotations

import ssl

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from core.endpoints import MqttEndpoint


def make_client(
    endpoint: MqttEndpoint,
    client_id: str,
    *,
    clean_session: bool = True,
    manual_ack: bool = False,
    max_inflight: int = 100,
) -> mqtt.Client:
    """An MQTT 3.1.1 client configured for ``endpoint`` (credentials, TLS, reconnect delays)."""
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=clean_session,
        protocol=mqtt.MQTTv311,
        manual_ack=manual_ack,
    )
    configure_client(client, endpoint, max_inflight)
    return client


def configure_client(client: mqtt.Client, endpoint: MqttEndpoint, max_inflight: int = 100) -> None:
    """Credentials, TLS, reconnect delays and queues for a client built by hand (a subclass)."""
    if endpoint.username:
        client.username_pw_set(endpoint.username, endpoint.password)
    if endpoint.tls:
        client.tls_set(ca_certs=endpoint.ca_file, cert_reqs=ssl.CERT_REQUIRED)
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    client.max_inflight_messages_set(max_inflight)
    client.max_queued_messages_set(0)
