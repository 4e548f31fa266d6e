"""Free ports and waiting for a server to listen."""

from __future__ import annotations

import socket
import time

from plantroom.broker import free_port

__all__ = ["free_port", "wait_listening"]


def wait_listening(port: int, timeout: float = 15.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex((host, port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s")
