"""Write throughput of the InfluxDB backend, beside a bare line-protocol POST, in one run.

Both write the same simulator readings to a real VictoriaMetrics (which takes InfluxDB line
protocol on ``/api/v2/write``) in batches of the same size. The baseline is the cheapest
client possible: the already serialised lines POSTed with httpx, so the difference is what
our writer costs (grouping readings into points, escaping, influxdb-client).

    make bench-influx     (or: .venv/bin/python -m bench.influx_write --readings 200000)
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from bench.rounds import Series, load_average, ratio, report
from core.readings import Reading
from core.site import load_site
from simulators.models import Plant
from storage import site_tags
from storage.influx_ts import InfluxConfig, InfluxTimeSeriesStore, line_protocol
from tests.servers.victoria import start_victoria

ROOT = Path(__file__).resolve().parent.parent


def readings(count: int) -> list[Reading]:
    site = load_site(ROOT / "examples" / "site.yaml")
    plant = Plant(site, seed=11)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    out: list[Reading] = []
    step = 0
    while len(out) < count:
        plant.step(1.0, hour_of_day=9.0)
        ts = start + timedelta(seconds=step)
        for eq, values in plant.values().items():
            out.extend(Reading(eq, s, ts, float(v)) for s, v in values.items())
        step += 1
    return out[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--readings", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=5000, help="readings per write call")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    site = load_site(ROOT / "examples" / "site.yaml")
    tags = site_tags(site)
    data = readings(args.readings)
    batches = [data[i : i + args.batch] for i in range(0, len(data), args.batch)]
    n = len(data)
    bare = Series("bare httpx POST of pre-serialised lines", "readings/s")
    ours = Series("plantroom InfluxTimeSeriesStore.write", "readings/s")
    serialise = Series("of which line_protocol() alone", "readings/s")
    print(f"{n:,} readings in batches of {args.batch:,}; {load_average()}")
    with tempfile.TemporaryDirectory() as tmp:
        server = start_victoria(Path(tmp))
        try:
            url = f"http://127.0.0.1:{server.port}"
            config = InfluxConfig.parse(f"influxdb://t@127.0.0.1:{server.port}?org=o&bucket=b")
            store = InfluxTimeSeriesStore(config, tags, verify=False)
            with httpx.Client() as client:
                for round_no in range(1, args.rounds + 1):
                    # baseline: serialised beforehand, one bare POST per batch
                    began = time.perf_counter()
                    bodies = ["\n".join(line_protocol(b, tags)).encode() for b in batches]
                    serialise.add(n / (time.perf_counter() - began))
                    began = time.perf_counter()
                    for body in bodies:
                        client.post(
                            f"{url}/api/v2/write",
                            params={"bucket": "b", "org": "o", "precision": "ms"},
                            content=body,
                        ).raise_for_status()
                    bare.add(n / (time.perf_counter() - began))
                    began = time.perf_counter()
                    for batch in batches:
                        store.write(batch)
                    ours.add(n / (time.perf_counter() - began))
                    print(
                        f"round {round_no}: bare {bare.values[-1]:,.0f}, "
                        f"plantroom {ours.values[-1]:,.0f} readings/s ({load_average()})"
                    )
            store.close()
            # every round wrote the same points again (idempotent): the server must hold them
            stored = sum(len(v) for v in server.series().values())
            if stored != n:
                for s in (bare, ours, serialise):
                    s.values.clear()
                    s.discard(0, f"VictoriaMetrics holds {stored} values, {n} written")
        finally:
            server.stop()
    print()
    print(f"to VictoriaMetrics /api/v2/write, {args.rounds} rounds")
    report([bare, ours, serialise])
    print(f"plantroom / bare (medians): {ratio(ours, bare)} (target >= 50%)")
    print(load_average())


if __name__ == "__main__":
    main()
