"""What a hostile or careless client costs a real ``plantroom api`` process (issue 11, 4 and 5).

Ten years of one signal (3 M readings, one per 105 s) are written to a SQLite store; then,
against ``plantroom api`` on it, the process's resident memory (``/proc/PID/status``) is
read before and after (peak, sampled every 20 ms during the request):

- one raw-readings request over the ten years (a page of 10,000, ``truncated``);
- the whole ten years as a streamed CSV export;
- a 300 MB POST without a key, and one with a key sent chunked (no length), past the cap.

    make bench-api-limits      (or: python -m bench.api_limits --readings 3000000)
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from bench.rounds import load_average
from core.readings import Reading
from core.site import load_site
from plantroom.broker import free_port
from storage import SqliteTimeSeriesStore, site_tags

ROOT = Path(__file__).resolve().parents[1]
START = datetime(2016, 1, 1, tzinfo=UTC)
MB = 1_000_000


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def measured(pid: int, run: Callable[[], str]) -> str:
    """Run ``run`` while sampling the process's memory; one line of what it cost."""
    before = peak = rss(pid)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss(pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    began = time.perf_counter()
    try:
        what = run()
    finally:
        took = time.perf_counter() - began
        done.set()
        sampler.join()
    return (
        f"{what:<58}{took:>8.2f} s  RSS {before / MB:>6.0f} MB -> peak {peak / MB:>5.0f} MB "
        f"(+{(peak - before) / MB:.0f})"
    )


def body(total: int, chunked: bool) -> Iterator[bytes]:
    piece = b"x" * (1 << 20)
    for _ in range(0, total, len(piece)):
        yield (f"{len(piece):x}\r\n".encode() + piece + b"\r\n") if chunked else piece
    if chunked:
        yield b"0\r\n\r\n"


def post(port: int, headers: str, chunks: Iterator[bytes]) -> str:
    """Send a request as a client would; stop sending once the server has answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(headers.encode())
        for chunk in chunks:
            sock.setblocking(False)
            try:
                answered = bool(sock.recv(1, socket.MSG_PEEK))
            except BlockingIOError:
                answered = False
            sock.setblocking(True)
            if answered:
                break
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
        return sock.recv(200).split(b"\r\n", 1)[0].decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readings", type=int, default=3_000_000)
    args = parser.parse_args()
    site_path = ROOT / "examples" / "site.yaml"
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteTimeSeriesStore(Path(tmp) / "ts.db", site_tags(load_site(site_path)))
        began = time.perf_counter()
        step = timedelta(seconds=105)
        for first in range(0, args.readings, 50_000):
            store.write(
                [
                    Reading("tank-fire", "level_m", START + i * step, 3.0 + (i % 100) / 100)
                    for i in range(first, min(first + 50_000, args.readings))
                ]
            )
        store.close()
        span = args.readings * step
        print(
            f"{args.readings:,} readings over {span.days} days written in "
            f"{time.perf_counter() - began:.0f} s"
        )
        env = {
            **os.environ,
            "PLANTROOM_DATA_DIR": tmp,
            "PLANTROOM_TSDB_URL": f"sqlite:///{tmp}/ts.db",
            "PLANTROOM_DB_URL": f"sqlite:///{tmp}/records.db",
            "PLANTROOM_SITE": str(site_path),
        }
        cli = [sys.executable, "-m", "plantroom.cli"]
        made = subprocess.run(
            [*cli, "keys", "create", "--role", "engineer"], env=env, capture_output=True, text=True
        )
        key = next(line for line in made.stdout.splitlines() if line.startswith("pr_"))
        port = free_port()
        api = subprocess.Popen([*cli, "api", "--port", str(port)], env=env, cwd=ROOT)
        try:
            base = f"http://127.0.0.1:{port}/api/v1"
            auth = {"Authorization": f"Bearer {key}"}
            for _ in range(300):
                try:
                    httpx.get(f"{base}/health", timeout=5)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            window = {
                "signal": "level_m",
                "start": START.isoformat(),
                "end": (START + span).isoformat(),
            }
            url = f"{base}/equipment/tank-fire/readings"

            def page() -> str:
                answer = httpx.get(url, params=window, headers=auth, timeout=120).json()
                return (
                    f"raw, 10 years: {len(answer['points']):,} points, "
                    f"truncated={answer['truncated']}"
                )

            def export() -> str:
                size = 0
                with httpx.stream(
                    "GET", url, params={**window, "format": "csv"}, headers=auth, timeout=600
                ) as response:
                    for chunk in response.iter_bytes():
                        size += len(chunk)
                return f"CSV export, 10 years streamed: {size / MB:,.0f} MB"

            note = "/api/v1/equipment/tank-fire/log"

            def anonymous() -> str:
                head = f"POST {note} HTTP/1.1\r\nHost: x\r\nContent-Length: {300 * MB}\r\n\r\n"
                return f"300 MB POST, no key: {post(port, head, body(300 * MB, False))}"

            def too_big() -> str:
                head = (
                    f"POST {note} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                    f"Authorization: Bearer {key}\r\n\r\n"
                )
                return f"300 MB chunked POST, with a key: {post(port, head, body(300 * MB, True))}"

            print(f"plantroom api, one request each; {load_average()}")
            for run in (page, export, anonymous, too_big):
                print(measured(api.pid, run))
        finally:
            api.terminate()
            api.wait(20)
    print(load_average())


if __name__ == "__main__":
    main()
