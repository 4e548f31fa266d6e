"""The embedded MQTT broker (amqtt) for the demo, tests and one-box installs: MQTT 3.1.1,
anonymous; loopback unless told to listen elsewhere (``embedded://0.0.0.0:1883``)."""

from __future__ import annotations

import socket
from typing import Any

from amqtt.broker import Broker
from amqtt.errors import BrokerError

from plantroom.listen import StartupError, check_free


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmbeddedBroker:
    def __init__(self, port: int | None = None, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port or free_port()
        config: dict[str, Any] = {
            "listeners": {"default": {"type": "tcp", "bind": f"{host}:{self.port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
            },
        }
        self._broker = Broker(config)

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    async def start(self) -> None:
        """Start listening; StartupError (one line) if the port is taken."""
        what = "the embedded MQTT broker"
        check_free(self.host, self.port, what)  # amqtt would log a traceback first
        try:
            await self._broker.start()
        except BrokerError as err:
            raise StartupError(f"cannot start {what} on {self.host}:{self.port}: {err}") from None

    async def stop(self) -> None:
        await self._broker.shutdown()
