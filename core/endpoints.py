"""Endpoint URLs from the environment (DESIGN §3), parsed once into typed settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlparse

_ENCODE_HINT = (
    "MQTT URL: the user name or password holds a character that must be percent-encoded "
    "(/ as %2F, ? as %3F, # as %23, @ as %40, : as %3A, % as %25)"
)


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
            except ValueError:
                raise ValueError("MQTT URL has a bad port") from None
            return cls(host=parsed.hostname or "127.0.0.1", port=port, embedded=True)
        if parsed.scheme not in ("mqtt", "mqtts"):
            raise ValueError(
                f"MQTT URL must start with mqtt:// or mqtts:// (or be 'embedded' or "
                f"embedded://HOST:PORT), "
                f"got scheme {parsed.scheme!r}"
            )
        # Never quote the URL or a part of it in these errors: it may hold the password.
        # A password with / ? or # unencoded ends the host part early, leaving "…@host"
        # behind in the path, query or fragment.
        query_text = "" if parsed.query.startswith("ca=") else parsed.query
        if "@" not in parsed.netloc and "@" in parsed.path + parsed.fragment + query_text:
            raise ValueError(_ENCODE_HINT)
        try:
            hostname, port_given = parsed.hostname, parsed.port
        except ValueError:
            raise ValueError(
                "MQTT URL has a bad port (or a user name or password with a character that "
                "must be percent-encoded: / ? # @ : %)"
            ) from None
        if not hostname:
            raise ValueError("MQTT URL has no host")
        tls = parsed.scheme == "mqtts"
        port = port_given or (8883 if tls else 1883)
        query = parse_qs(parsed.query)
        return cls(
            host=hostname,
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
