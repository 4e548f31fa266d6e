"""A tiny /metrics endpoint for processes without the API (``plantroom collect``), so that
Prometheus can scrape the collector's counters, Modbus poll lateness and buffer depth/age."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from core.logs import event
from core.metrics import METRICS, Metrics

log = logging.getLogger("plantroom.metrics")


async def serve_metrics(
    stop: asyncio.Event, host: str, port: int, metrics: Metrics = METRICS
) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), 5)
            while (await asyncio.wait_for(reader.readline(), 5)) not in (b"\r\n", b"\n", b""):
                pass  # headers are not needed
            parts = request.decode("latin-1").split()
            if len(parts) >= 2 and parts[0] == "GET" and parts[1].split("?")[0] == "/metrics":
                status, body = "200 OK", metrics.render().encode()
            else:
                status, body = "404 Not Found", b"only GET /metrics is served here\n"
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (TimeoutError, ConnectionError, UnicodeDecodeError):
            pass  # a scraper that hangs up or sends garbage gets nothing
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    server = await asyncio.start_server(handle, host, port)
    event(log, "serving metrics", url=f"http://{host}:{port}/metrics")
    try:
        await stop.wait()
    finally:
        server.close()
        await server.wait_closed()
