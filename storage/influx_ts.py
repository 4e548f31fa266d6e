"""Production time-series store on InfluxDB (DESIGN §3, §7).

Writes go through ``influxdb-client`` as line protocol to ``/api/v2/write`` (InfluxDB 1.8+, 2.x,
3.x), in batches of ``batch_lines`` lines, each retried with backoff. Reads are InfluxQL over the
v1-compatible ``/query`` endpoint, which InfluxDB 1.x, 2.x (through a DBRP mapping) and 3.x
serve, so the same queries work here and in the Grafana dashboards.

Layout (DESIGN §7): measurement = kind, tags ``site``, ``building``, ``equipment``, one point per
(machine, timestamp) whose fields are that machine's signals, at millisecond precision:

- a good reading is the float field ``<signal>`` (bools 0/1), so ``mean("outlet_pressure_mpa")``
  in a dashboard never sees a stale or invalid value;
- a reading that is not good writes no ``<signal>`` field but ``<signal>_quality`` (string:
  ``stale``, ``comm_fault`` or ``invalid``), ``<signal>_reason`` (string, ``""`` when there is
  none) and, only when it carries a value, ``<signal>_raw`` (float).

So signal names must not end in ``_quality``, ``_reason`` or ``_raw``. A machine that is not in
the site file is written to measurement ``unknown`` so that nothing is lost.

Rewriting the same (machine, signal, timestamp) overwrites it, as on SQLite: InfluxDB replaces
the fields a point names. One case differs, because InfluxDB merges the fields of points with
equal timestamps and cannot drop one by writing: a reading written at exactly the
millisecond of an earlier one of the other kind leaves both. ``latest()`` and raw
``history()`` then show the non-good one, while a bucket still counts the good value. The
collectors never write this (stale and comm-fault markers carry the time they were
detected), and the contract suite pins the behaviour down.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast
from urllib.parse import parse_qs, quote, unquote, urlparse

import httpx
from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write.retry import WritesRetry
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.domain.write_precision import WritePrecision

from core.readings import Quality, Reading, ms_from_utc, utc_from_ms
from storage.timeseries import Bucket, SeriesTags, StoreError

QUALITY_SUFFIX = "_quality"
REASON_SUFFIX = "_reason"
RAW_SUFFIX = "_raw"
UNKNOWN_KIND = "unknown"
_SUFFIXES = (QUALITY_SUFFIX, REASON_SUFFIX, RAW_SUFFIX)


@dataclass(frozen=True, slots=True)
class InfluxConfig:
    """What ``influxdb://TOKEN@host:8086?org=ORG&bucket=BUCKET`` names.

    ``influxdbs://`` or ``&tls=1`` selects https. ``db=``/``rp=`` name the v1 database and
    retention policy that InfluxQL reads use (default: the bucket, and the default policy).
    For InfluxDB 1.x: ``influxdb://host:8086?bucket=DB`` or ``influxdb://USER:PASS@host…``.
    """

    base_url: str
    bucket: str
    org: str = ""
    token: str = field(default="", repr=False)
    username: str = ""
    password: str = field(default="", repr=False)
    db: str = ""
    rp: str = ""

    @classmethod
    def parse(cls, url: str) -> InfluxConfig:
        parsed = urlparse(url)
        shown = redact_url(url)
        if parsed.scheme not in ("influxdb", "influxdbs"):
            raise StoreError(f"time-series URL {shown}: scheme must be influxdb:// or influxdbs://")
        query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        unknown = set(query) - {"org", "bucket", "db", "rp", "tls"}
        if unknown:
            raise StoreError(f"time-series URL {shown}: unknown parameter(s) {sorted(unknown)}")
        bucket = query.get("bucket", "")
        if not bucket:
            raise StoreError(f"time-series URL {shown}: missing ?bucket=NAME")
        if not parsed.hostname:
            raise StoreError(f"time-series URL {shown}: missing host")
        tls = parsed.scheme == "influxdbs" or query.get("tls", "0") in ("1", "true", "yes")
        try:
            port = parsed.port or 8086
        except ValueError as err:
            raise StoreError(f"time-series URL {shown}: bad port") from err
        user = unquote(parsed.username or "")
        password = unquote(parsed.password or "")
        token, username = ("", user) if parsed.password is not None else (user, "")
        host = parsed.hostname if ":" not in parsed.hostname else f"[{parsed.hostname}]"
        return cls(
            base_url=f"{'https' if tls else 'http'}://{host}:{port}",
            bucket=bucket,
            org=query.get("org", ""),
            token=token,
            username=username,
            password=password,
            db=query.get("db", bucket.split("/")[0]),
            rp=query.get("rp", bucket.split("/")[1] if "/" in bucket else ""),
        )

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.token, self.password) if s)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***").replace(quote(secret, safe=""), "***")
        return text


def redact_url(url: str) -> str:
    """The URL with its credentials replaced, fit for a log line or an error."""
    parsed = urlparse(url)
    if "@" not in parsed.netloc:
        return url
    return parsed._replace(netloc="***@" + parsed.netloc.rsplit("@", 1)[1]).geturl()


def _lp_tags(equipment: str, tags: Mapping[str, SeriesTags]) -> tuple[str, dict[str, str]]:
    where = tags.get(equipment)
    if where is None:
        return UNKNOWN_KIND, {"equipment": equipment}
    return where.kind or UNKNOWN_KIND, {
        "site": where.site,
        "building": where.building,
        "equipment": equipment,
    }


# Line protocol escaping, character for character as influxdb-client's ``Point`` does it (the
# golden cases in tests/test_line_protocol.py hold both to the same output): measurement names
# escape comma and space, tag keys and values and field keys also the equals sign, and all
# three write tab, CR and LF as ``\t``, ``\r``, ``\n``; string field values escape only the
# double quote and the backslash.
_ESCAPE_MEASUREMENT = str.maketrans({",": r"\,", " ": r"\ ", "\n": r"\n", "\t": r"\t", "\r": r"\r"})
_ESCAPE_KEY = str.maketrans(
    {",": r"\,", "=": r"\=", " ": r"\ ", "\n": r"\n", "\t": r"\t", "\r": r"\r"}
)
_ESCAPE_STRING = str.maketrans({'"': r"\"", "\\": r"\\"})


def _tag_value(value: str) -> str:
    escaped = value.translate(_ESCAPE_KEY)
    # a value ending in a backslash would escape the separator after it
    return escaped + " " if escaped.endswith("\\") else escaped


def _string_field(value: str) -> str:
    return '"' + value.translate(_ESCAPE_STRING) + '"'


def _float_text(value: float) -> str | None:
    """Shortest round-trip text, without Python's trailing ``.0``; None for NaN/inf, which
    line protocol cannot carry (the field is left out, as influxdb-client does)."""
    if value - value != 0.0:  # NaN and ±inf; cheaper than math.isfinite on the hot path
        return None
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


def _series_prefix(equipment: str, tags: Mapping[str, SeriesTags]) -> str:
    """``measurement,tag=value,…`` of a machine's points; tags sorted, empty ones left out."""
    measurement, point_tags = _lp_tags(equipment, tags)
    parts = [measurement.translate(_ESCAPE_MEASUREMENT)]
    for key, value in sorted(point_tags.items()):
        if value:
            parts.append(f"{key.translate(_ESCAPE_KEY)}={_tag_value(value)}")
    return ",".join(parts)


def line_protocol(readings: Sequence[Reading], tags: Mapping[str, SeriesTags]) -> list[str]:
    """Line protocol for ``readings``: one line per (machine, millisecond), fields per signal
    (sorted by name), millisecond timestamps.

    Within a batch a later reading of the same signal and timestamp replaces an earlier one.
    Serialised by hand, once per value: building influxdb-client ``Point`` objects was most
    of the cost of a write (issue 17).
    """
    # (machine, ms) -> field name -> "name=value"; the names of a signal's non-good fields
    # exist only in points that hold one (``mixed``), so a good value usually replaces by key
    points: dict[tuple[str, int], dict[str, str]] = {}
    mixed: set[tuple[str, int]] = set()
    names: dict[str, str] = {}  # signal -> escaped field key
    last_ts: datetime | None = None
    last_eq = ""
    ts_ms = 0
    key = ("", 0)
    fields: dict[str, str] = {}
    good = Quality.GOOD
    for r in readings:
        # the readings of one message share their machine and datetime: one lookup for all
        if r.ts is not last_ts or r.equipment is not last_eq:
            if r.ts is not last_ts:
                last_ts, ts_ms = r.ts, ms_from_utc(r.ts)
            last_eq = r.equipment
            key = (last_eq, ts_ms)
            found = points.get(key)
            if found is None:
                found = points[key] = {}
            fields = found
        signal = r.signal
        name = names.get(signal)
        if name is None:
            name = names[signal] = signal.translate(_ESCAPE_KEY)
        value = r.value
        if r.quality is good and value is not None:
            if key in mixed:
                for suffix in _SUFFIXES:
                    fields.pop(signal + suffix, None)
            if type(value) is not float:
                value = float(value)
            if value - value != 0.0:  # NaN or ±inf: line protocol cannot carry them
                fields.pop(signal, None)
                continue
            text = repr(value)
            fields[signal] = f"{name}={text[:-2] if text.endswith('.0') else text}"
            continue
        mixed.add(key)
        fields.pop(signal, None)
        fields[signal + QUALITY_SUFFIX] = f"{name}{QUALITY_SUFFIX}={_string_field(r.quality)}"
        fields[signal + REASON_SUFFIX] = f"{name}{REASON_SUFFIX}={_string_field(r.reason or '')}"
        text_or_none = None if value is None else _float_text(float(value))
        if text_or_none is None:
            fields.pop(signal + RAW_SUFFIX, None)
        else:
            fields[signal + RAW_SUFFIX] = f"{name}{RAW_SUFFIX}={text_or_none}"
    prefixes: dict[str, str] = {}
    lines = []
    for (equipment, ms), fields in points.items():
        if not fields:  # a point whose only values were NaN has no fields and no line
            continue
        prefix = prefixes.get(equipment)
        if prefix is None:
            prefix = prefixes[equipment] = _series_prefix(equipment, tags)
        body = ",".join([fields[k] for k in sorted(fields)])
        lines.append(f"{prefix} {body} {ms}")
    return lines


def _ident(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _equipment_filter(ids: Iterable[str]) -> str:
    return "(" + " OR ".join(f'"equipment" = {_literal(i)}' for i in ids) + ")"


class InfluxTimeSeriesStore:
    """``TimeSeriesStore`` on InfluxDB. Safe to share between threads.

    With ``verify`` (the default) the constructor checks that the server answers, accepts the
    credentials and has the database, and raises ``StoreError`` saying which is wrong.
    """

    def __init__(
        self,
        config: InfluxConfig,
        tags: Mapping[str, SeriesTags] | None = None,
        *,
        verify: bool = True,
        batch_lines: int = 5000,
        retries: int = 3,
        timeout_s: float = 10.0,
    ) -> None:
        self.config = config
        self._tags = dict(tags or {})
        self.batch_lines = batch_lines
        self._lock = threading.Lock()
        headers = {}
        auth: httpx.BasicAuth | None = None
        if config.token:
            headers["Authorization"] = f"Token {config.token}"
        elif config.username:
            auth = httpx.BasicAuth(config.username, config.password)
        self._http = httpx.Client(
            base_url=config.base_url, headers=headers, auth=auth, timeout=timeout_s
        )
        write_token = config.token or (
            f"{config.username}:{config.password}" if config.username else ""
        )
        self._client = InfluxDBClient(
            url=config.base_url,
            token=write_token,
            org=config.org or "-",
            timeout=int(timeout_s * 1000),
            # WritesRetry counts max_retry_time from its own creation, not from a failure, so
            # a finite one would end all retries some minutes into the process; ``total``
            # and ``max_retry_delay`` bound each write instead. Writes are idempotent.
            retries=WritesRetry(
                total=retries,
                retry_interval=0.2,
                max_retry_delay=2,
                max_retry_time=10**9,
                allowed_methods=["POST"],
            ),
        )
        self._write_api = self._client.write_api(write_options=SYNCHRONOUS)
        if verify:
            try:
                self.verify()
            except StoreError:
                self.close()
                raise

    # ---- start-up check
    def verify(self) -> None:
        """Raise ``StoreError`` if the server is unreachable, refuses us or lacks the db."""
        where = f"InfluxDB at {self.config.base_url}"
        try:
            self._http.get("/ping")
        except httpx.HTTPError as err:
            raise StoreError(f"{where} is unreachable: {self._clean(err)}") from err
        names = {row[0] for row in self._rows(self._query(["SHOW DATABASES"])[0])}
        if self.config.db in names:
            return
        if self.config.token and self.config.org:
            answer = self._http.get(
                "/api/v2/buckets", params={"name": self.config.bucket, "org": self.config.org}
            )
            if answer.status_code == 200 and answer.json().get("buckets"):
                raise StoreError(
                    f"{where}: bucket {self.config.bucket!r} exists but has no DBRP mapping for "
                    f"database {self.config.db!r}, which InfluxQL reads need (influx v1 dbrp "
                    f"create --db {self.config.db} --rp autogen --default --bucket-id ID)"
                )
            raise StoreError(
                f"{where}: bucket {self.config.bucket!r} does not exist in org "
                f"{self.config.org!r} (or the token may not read it)"
            )
        raise StoreError(f"{where}: database {self.config.db!r} does not exist")

    # ---- writes
    def write(self, readings: Sequence[Reading]) -> None:
        lines = line_protocol(readings, self._tags)
        bucket = self.config.bucket
        if self.config.rp and "/" not in bucket and not self.config.token:
            bucket = f"{bucket}/{self.config.rp}"
        for start in range(0, len(lines), self.batch_lines):
            chunk = lines[start : start + self.batch_lines]
            try:
                self._write_api.write(
                    bucket=bucket,
                    org=self.config.org or "-",
                    record="\n".join(chunk),  # one body: the client handles no line twice
                    write_precision=cast(WritePrecision, WritePrecision.MS),
                )
            except Exception as err:  # influxdb-client raises ApiException or urllib3 errors
                raise StoreError(
                    f"InfluxDB at {self.config.base_url}: write of {len(chunk)} points to "
                    f"{bucket!r} failed: {self._clean(err)}"
                ) from err

    # ---- reads
    def _clean(self, err: BaseException) -> str:
        text = str(err).strip().splitlines()
        return self.config.redact(text[0] if text else type(err).__name__)

    def _query(self, statements: Sequence[str]) -> list[dict[str, Any]]:
        """Run InfluxQL statements in one request; one result per statement."""
        params = {"db": self.config.db, "q": ";".join(statements), "epoch": "ms"}
        if self.config.rp:
            params["rp"] = self.config.rp
        where = f"InfluxDB at {self.config.base_url}"
        try:
            answer = self._http.post("/query", data=params)
        except httpx.HTTPError as err:
            raise StoreError(f"{where}: query failed: {self._clean(err)}") from err
        if answer.status_code in (401, 403):
            raise StoreError(
                f"{where} refused the credentials (HTTP {answer.status_code}): check the token "
                "or user and password in PLANTROOM_TSDB_URL"
            )
        try:
            body = answer.json()
        except ValueError:
            body = {}
        if answer.status_code != 200 or "error" in body:
            detail = body.get("error") or answer.text[:200]
            raise StoreError(
                f"{where}: query failed (HTTP {answer.status_code}): {self.config.redact(detail)}"
            )
        results: list[dict[str, Any]] = sorted(
            body.get("results", []), key=lambda r: int(r.get("statement_id", 0))
        )
        for result in results:
            if "error" in result:
                raise StoreError(f"{where}: query failed: {result['error']}")
        if len(results) != len(statements):
            raise StoreError(f"{where}: {len(statements)} statements, {len(results)} results")
        return results

    @staticmethod
    def _rows(result: Mapping[str, Any]) -> list[list[Any]]:
        return [row for series in result.get("series", []) for row in series.get("values", [])]

    def _field_keys(self, kind: str) -> set[str]:
        result = self._query([f"SHOW FIELD KEYS FROM {_ident(kind)}"])[0]
        return {str(row[0]) for row in self._rows(result)}

    def _kind(self, equipment: str) -> str:
        return _lp_tags(equipment, self._tags)[0]

    def latest(self, equipment: Iterable[str]) -> dict[tuple[str, str], Reading]:
        by_kind: dict[str, list[str]] = {}
        for eq in dict.fromkeys(equipment):
            by_kind.setdefault(self._kind(eq), []).append(eq)
        out: dict[tuple[str, str], Reading] = {}
        for kind, ids in by_kind.items():
            out.update(self._latest_of_kind(kind, ids))
        return out

    def _latest_of_kind(self, kind: str, ids: list[str]) -> dict[tuple[str, str], Reading]:
        fields = self._field_keys(kind)
        if not fields:
            return {}
        signals = {f for f in fields if not f.endswith(_SUFFIXES)}
        signals |= {f.removesuffix(QUALITY_SUFFIX) for f in fields if f.endswith(QUALITY_SUFFIX)}
        source = f'FROM {_ident(kind)} WHERE {_equipment_filter(ids)} GROUP BY "equipment"'
        statements: list[str] = []
        asked: list[tuple[str, bool]] = []  # (signal, good?) per statement
        for signal in sorted(signals):
            if signal in fields:
                statements.append(f"SELECT last({_ident(signal)}::field) {source}")
                asked.append((signal, True))
            if signal + QUALITY_SUFFIX in fields:
                extra = "".join(
                    f", {_ident(signal + s)}::field"
                    for s in (REASON_SUFFIX, RAW_SUFFIX)
                    if signal + s in fields
                )
                statements.append(
                    f"SELECT last({_ident(signal + QUALITY_SUFFIX)}::field){extra} {source}"
                )
                asked.append((signal, False))
        good: dict[tuple[str, str], tuple[int, float]] = {}
        bad: dict[tuple[str, str], tuple[int, Quality, str | None, float | None]] = {}
        for (signal, is_good), result in zip(asked, self._query(statements), strict=True):
            for series in result.get("series", []):
                eq = series.get("tags", {}).get("equipment", "")
                cols = series["columns"]
                for row in series.get("values", []):
                    data = dict(zip(cols, row, strict=True))
                    if is_good:
                        good[(eq, signal)] = (int(data["time"]), float(data["last"]))
                        continue
                    raw = data.get(signal + RAW_SUFFIX)
                    bad[(eq, signal)] = (
                        int(data["time"]),
                        Quality(data["last"]),
                        data.get(signal + REASON_SUFFIX) or None,
                        None if raw is None else float(raw),
                    )
        out: dict[tuple[str, str], Reading] = {}
        for key in good.keys() | bad.keys():
            g, b = good.get(key), bad.get(key)
            if b is not None and (g is None or b[0] >= g[0]):
                out[key] = Reading(key[0], key[1], utc_from_ms(b[0]), b[3], b[1], b[2])
            elif g is not None:
                out[key] = Reading(key[0], key[1], utc_from_ms(g[0]), g[1])
        return out

    def history(
        self,
        equipment: str,
        signal: str,
        start: datetime,
        end: datetime,
        every: timedelta | None = None,
        limit: int | None = None,
    ) -> list[Reading] | list[Bucket]:
        kind = self._kind(equipment)
        fields = self._field_keys(kind)
        start_ms, end_ms = ms_from_utc(start), ms_from_utc(end)
        where = (
            f'FROM {_ident(kind)} WHERE "equipment" = {_literal(equipment)} '
            f"AND time >= {start_ms}ms AND time < {end_ms}ms"
        )
        if every is not None:
            if signal not in fields:
                return []
            every_ms = max(1, int(every.total_seconds() * 1000))
            f = f"{_ident(signal)}::field"
            statement = (
                f"SELECT count({f}), mean({f}), min({f}), max({f}), last({f}) {where} "
                f"GROUP BY time({every_ms}ms, {start_ms % every_ms}ms) fill(none)"
            )
            rows = self._rows(self._query([statement])[0])
            return [
                Bucket(utc_from_ms(int(t)), int(n), float(mean), float(lo), float(hi), float(last))
                for t, n, mean, lo, hi, last in rows
                if n
            ]
        names = [n for n in (signal, *(signal + s for s in _SUFFIXES)) if n in fields]
        if not names:
            return []
        columns = ", ".join(f"{_ident(n)}::field" for n in names)
        # InfluxQL returns only rows where a selected field is set, so LIMIT counts readings
        paged = f" ORDER BY time ASC LIMIT {int(limit)}" if limit is not None else ""
        result = self._query([f"SELECT {columns} {where}{paged}"])[0]
        readings: list[Reading] = []
        for series in result.get("series", []):
            cols = series["columns"]
            for row in series.get("values", []):
                data = dict(zip(cols, row, strict=True))
                ts = utc_from_ms(int(data["time"]))
                quality = data.get(signal + QUALITY_SUFFIX)
                if quality is not None:
                    raw = data.get(signal + RAW_SUFFIX)
                    readings.append(
                        Reading(
                            equipment,
                            signal,
                            ts,
                            None if raw is None else float(raw),
                            Quality(quality),
                            data.get(signal + REASON_SUFFIX) or None,
                        )
                    )
                elif data.get(signal) is not None:
                    readings.append(Reading(equipment, signal, ts, float(data[signal])))
        return readings

    def close(self) -> None:
        with self._lock:
            self._http.close()
            self._client.close()  # type: ignore[no-untyped-call]


def open_influx(url: str, tags: Mapping[str, SeriesTags]) -> InfluxTimeSeriesStore:
    """Open and check the store named by an ``influxdb://`` URL."""
    return InfluxTimeSeriesStore(InfluxConfig.parse(url), tags)
