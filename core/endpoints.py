"""Endpoint URLs from the environment (DESIGN §3), parsed once into typed settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlparse


@dataclass(frozen=True, slots=True)
class MqttEndpoint:
    """``mqtt://user:pass@host:1883``, ``mqtts://…?ca=/path/ca.pem``, or ``embedded``
    (an in-process broker on a free loopback port) or ``embedded://HOST:PORT`` (one that
    devices on the plant network can reach at a fixed address)."""

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # never in logs or tracebacks
    ca_file: str | None = None
    embedded: bool = False

    @classmethod
    def parse(cls, url: str) -> MqttEndpoint:
        if url == "embedded":
            return cls(host="127.0.0.1", port=0, embedded=True)
        parsed = urlparse(url)
        if parsed.scheme == "embedded":
            try:
                port = parsed.port or 1883
            except ValueError as err:
                raise ValueError(f"MQTT URL has a bad port: {err}") from None
            return cls(host=parsed.hostname or "127.0.0.1", port=port, embedded=True)
        if parsed.scheme not in ("mqtt", "mqtts"):
            raise ValueError(
                f"MQTT URL must start with mqtt:// or mqtts:// (or be 'embedded' or "
                f"embedded://HOST:PORT), "
                f"got scheme {parsed.scheme!r}"
            )
        if not parsed.hostname:
            raise ValueError("MQTT URL has no host")
        tls = parsed.scheme == "mqtts"
        try:
            port = parsed.port or (8883 if tls else 1883)
        except ValueError as err:
            raise ValueError(f"MQTT URL has a bad port: {err}") from None
        query = parse_qs(parsed.query)
        return cls(
            host=parsed.hostname,
            port=port,
            tls=tls,
            username=unquote(parsed.username) if parsed.username else None,
            password=unquote(parsed.password) if parsed.password else None,
            ca_file=query.get("ca", [None])[0],
        )

    def redacted(self) -> str:
        """For logs: never shows the password."""
        if self.embedded and not self.port:
            return "embedded"  # not started yet: no address to show
        user = f"{self.username}:***@" if self.username else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{self.host}:{self.port}"

    def with_port(self, port: int) -> MqttEndpoint:
        return MqttEndpoint(
            self.host, port, self.tls, self.username, self.password, self.ca_file, self.embedded
        )
