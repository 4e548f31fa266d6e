"""Storage backends: the time-series store and the records database. Imports only ``core``."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlparse

from core.site import Site
from storage import api_keys, handovers, logbook, tickets
from storage.records import DeadLetter, RecordsDB
from storage.sqlite_ts import SqliteTimeSeriesStore
from storage.timeseries import Bucket, SeriesTags, StoreError, TimeSeriesStore


def site_tags(site: Site) -> dict[str, SeriesTags]:
    """Tags for every machine of a site, as the store lays them out (DESIGN §7)."""
    return {eq.id: SeriesTags(site.site.id, eq.building, eq.kind) for eq in site.equipment}


def open_timeseries(url: str, tags: Mapping[str, SeriesTags]) -> TimeSeriesStore:
    """Open the store named by ``PLANTROOM_TSDB_URL`` (``sqlite:///path`` or ``influxdb://…``)."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = parsed.path
        if url.startswith("sqlite:////"):
            path = "/" + path.lstrip("/")
        elif url.startswith("sqlite:///"):
            path = path[1:]
        if not path:
            raise StoreError(f"time-series URL {url!r}: no file path (sqlite:///data/ts.db)")
        return SqliteTimeSeriesStore(path, tags)
    if parsed.scheme in ("influxdb", "influxdbs"):
        from storage.influx_ts import open_influx  # only production needs influxdb-client

        return open_influx(url, tags)
    raise StoreError(
        f"time-series URL scheme {parsed.scheme!r} is not supported "
        "(use sqlite:///path or influxdb://TOKEN@host:8086?org=ORG&bucket=BUCKET)"
    )


__all__ = [
    "Bucket",
    "DeadLetter",
    "RecordsDB",
    "SeriesTags",
    "SqliteTimeSeriesStore",
    "StoreError",
    "TimeSeriesStore",
    "api_keys",
    "handovers",
    "logbook",
    "open_timeseries",
    "site_tags",
    "tickets",
]
