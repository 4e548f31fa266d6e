"""Usage counters (``run_hours``, ``starts``) read from the time-series store, for the
usage-based maintenance plans (DESIGN §11)."""

from __future__ import annotations

from datetime import datetime, timedelta

from storage.timeseries import Bucket, TimeSeriesStore

COUNTER_STEP = timedelta(hours=1)  # a plan falls due in the hour its counter passed the step


def counter_samples(
    store: TimeSeriesStore, equipment: str, signal: str, start: datetime, end: datetime
) -> list[tuple[datetime, float]]:
    """The counter's last good value of each hour in ``[start, end)``, oldest first, each at
    its hour's start (hourly rollups: a quarter is ~2200 rows, whatever the sample rate)."""
    buckets = store.history(equipment, signal, start, end, every=COUNTER_STEP)
    return [(b.start, b.last) for b in buckets if isinstance(b, Bucket) and b.count]
