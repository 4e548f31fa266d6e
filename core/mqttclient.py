"""One way to build a paho-mqtt client from an endpoint, shared by collectors and simulators.

paho runs its network loop in a thread of its own (``loop_start``); that is the one thread a
library forces on us, and callers hand work back to their event loop from its callbacks.
"""

from __future__ import annotations

import socket
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
        try:
            client.tls_set(ca_certs=endpoint.ca_file, cert_reqs=ssl.CERT_REQUIRED)
        except OSError as err:  # a missing or unreadable file, or one that is not PEM
            reason = err.strerror or getattr(err, "reason", None) or type(err).__name__
            raise ValueError(f"MQTT CA file {endpoint.ca_file!r} (?ca=): {reason}") from None
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    client.max_inflight_messages_set(max_inflight)
    client.max_queued_messages_set(0)


class BrokerUnusable(ConnectionError):
    """The broker cannot be used as configured (its TLS certificate is not trusted, or not
    for this host): retrying would not help, so the collector stops with this message."""


def connect_problem(endpoint: MqttEndpoint, err: OSError) -> str:
    """One line naming why connecting to ``endpoint`` failed (never the password)."""
    where = f"MQTT broker {endpoint.redacted()}"
    if isinstance(err, ssl.SSLCertVerificationError):
        detail = err.verify_message or err.reason or type(err).__name__
        if err.verify_code in (62, 64) or "mismatch" in detail.lower():  # host or IP mismatch
            return f"{where}: its TLS certificate is not for host {endpoint.host!r} ({detail})"
        trusted = (
            f"the CA in {endpoint.ca_file!r}"
            if endpoint.ca_file
            else "the system's CAs (no ?ca=/path/ca.pem given)"
        )
        return f"{where}: its TLS certificate is not trusted by {trusted} ({detail})"
    if isinstance(err, ssl.SSLError):
        detail = err.reason or type(err).__name__
        return f"{where}: TLS handshake failed ({detail}); is this the broker's TLS port?"
    if isinstance(err, socket.gaierror):
        return f"{where}: cannot resolve host {endpoint.host!r} ({err.strerror})"
    if isinstance(err, ConnectionRefusedError):
        return f"{where}: connection refused (nothing listening on port {endpoint.port}?)"
    if isinstance(err, TimeoutError):
        return f"{where}: connection timed out"
    return f"{where}: cannot connect ({err.strerror or type(err).__name__})"


def is_unusable(err: OSError) -> bool:
    """Errors of configuration, not of availability: a TLS certificate that is not trusted
    or not for this host, or a TLS handshake with something that does not speak TLS."""
    return isinstance(err, ssl.SSLError)
