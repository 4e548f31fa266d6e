"""Endpoints and secrets come from the environment only (DESIGN §3)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from collectors.mqtt.timing import DEFAULT_MAX_SKEW
from collectors.sink import DEFAULT_LETTER_RETENTION
from core.site import parse_duration

# Every command's one default for local files (SQLite stores, buffer): `plantroom demo`,
# `run`, `keys` and `verify-log` all read and write the same place unless told otherwise.
DEFAULT_DATA_DIR = Path("data")


def data_dir_from_env(given: Path | None = None) -> Path:
    """``--data-dir`` when given, else ``$PLANTROOM_DATA_DIR``, else ``data``."""
    if given is not None:
        return given
    return Path(os.environ.get("PLANTROOM_DATA_DIR", "") or DEFAULT_DATA_DIR)


@dataclass(frozen=True, slots=True)
class Settings:
    mqtt_url: str
    tsdb_url: str
    db_url: str
    site_path: Path
    share_group: str | None
    client_id: str
    buffer_path: Path
    # Modbus scale-out: this process's shard ("2/3", 1-based) and name (for `collector:` pins)
    collector_shard: str = ""
    collector_name: str | None = None
    # `plantroom collect` serves Prometheus metrics here when set
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    # what `plantroom run` runs in its process: some of collect,alerts,api
    components: str = "collect,alerts,api"
    # the API reads at most this many bytes of a request body (413 past it)
    api_max_body: int = 1_000_000
    data_dir: Path = DEFAULT_DATA_DIR
    # device clocks further off than this are reported and not trusted (issue 11)
    max_clock_skew: timedelta = DEFAULT_MAX_SKEW
    # dead letters older than this are pruned by the collector as it runs
    dead_letter_retention: timedelta = DEFAULT_LETTER_RETENTION
    # in a share group, the queued messages the broker must keep per offline session (0: off)
    queue_probe: int = 10_000

    @classmethod
    def from_env(cls, data_dir: Path | None = None) -> Settings:
        env = os.environ
        data_dir = data_dir_from_env(data_dir)
        share = env.get("PLANTROOM_MQTT_SHARE_GROUP", "")
        return cls(
            mqtt_url=env.get("PLANTROOM_MQTT_URL", "embedded"),
            tsdb_url=env.get("PLANTROOM_TSDB_URL", f"sqlite:///{data_dir / 'ts.db'}"),
            db_url=env.get("PLANTROOM_DB_URL", f"sqlite:///{data_dir / 'records.db'}"),
            site_path=Path(env.get("PLANTROOM_SITE", "examples/site.yaml")),
            share_group=share or None,
            client_id=env.get("PLANTROOM_MQTT_CLIENT_ID", "plantroom-collector"),
            buffer_path=Path(env.get("PLANTROOM_BUFFER_PATH", str(data_dir / "buffer.db"))),
            collector_shard=env.get("PLANTROOM_COLLECTOR_SHARD", ""),
            collector_name=env.get("PLANTROOM_COLLECTOR_NAME") or None,
            metrics_port=_port(env.get("PLANTROOM_METRICS_PORT", "")),
            metrics_host=env.get("PLANTROOM_METRICS_HOST", "127.0.0.1"),
            components=env.get("PLANTROOM_COMPONENTS", "") or "collect,alerts,api",
            api_max_body=_bytes("PLANTROOM_API_MAX_BODY", env.get("PLANTROOM_API_MAX_BODY", "")),
            data_dir=data_dir,
            max_clock_skew=_duration(env, "PLANTROOM_MQTT_MAX_CLOCK_SKEW", DEFAULT_MAX_SKEW),
            dead_letter_retention=_duration(
                env, "PLANTROOM_DEAD_LETTER_RETENTION", DEFAULT_LETTER_RETENTION
            ),
            queue_probe=_count("PLANTROOM_MQTT_QUEUE_PROBE", env.get("PLANTROOM_MQTT_QUEUE_PROBE")),
        )


def _duration(env: os._Environ[str], name: str, default: timedelta) -> timedelta:
    raw = env.get(name, "")
    if not raw:
        return default
    try:
        value = parse_duration(raw)
    except ValueError as err:
        raise ValueError(f"{name}: {err}") from None
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise ValueError(f"{name} must be a positive duration like 2m or 7d, got {raw!r}")
    return value


def _count(name: str, raw: str | None, default: int = 10_000) -> int:
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or int(raw) > 10_000_000:
        raise ValueError(f"{name} must be a whole number from 0 to 10000000, got {raw!r}")
    return int(raw)


def _port(raw: str) -> int | None:
    if not raw:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise ValueError(f"PLANTROOM_METRICS_PORT must be a port number, got {raw!r}")
    return int(raw)


def _bytes(name: str, raw: str) -> int:
    if not raw:
        return 1_000_000
    if not raw.isdigit() or not 1 <= int(raw) <= 2**31:
        raise ValueError(f"{name} must be a number of bytes (1..{2**31}), got {raw!r}")
    return int(raw)
