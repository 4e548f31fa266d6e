"""Listening sockets claimed before anything starts, so that a busy port is one clear line
at start-up (not a traceback, nor a banner that claims success and then an exit)."""

from __future__ import annotations

import errno
import socket


class StartupError(Exception):
    """A process cannot start; the message is the one line to show the person starting it."""


def listen_socket(host: str, port: int, what: str) -> socket.socket:
    """A socket bound and listening on ``host:port`` for ``what`` (e.g. "the API")."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    # as uvicorn and asyncio do: a port left in TIME_WAIT by a stopped server can be reused
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError as err:
        sock.close()
        if err.errno == errno.EADDRINUSE:
            reason = "the port is already in use (another plantroom, or another program?)"
        else:
            reason = err.strerror or str(err)
        raise StartupError(f"cannot listen on {host}:{port} for {what}: {reason}") from None
    sock.setblocking(False)
    return sock


def check_free(host: str, port: int, what: str) -> None:
    """Fail now with a clear line if ``host:port`` cannot be listened on (for servers that
    bind their own socket, such as the embedded broker and the simulated gateways)."""
    listen_socket(host, port, what).close()
