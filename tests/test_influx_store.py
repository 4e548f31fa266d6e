"""The InfluxDB backend's own edges: its URL, its start-up checks, failing and retried writes."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from core.readings import Reading
from storage import StoreError, open_timeseries
from storage.influx_ts import InfluxConfig, InfluxTimeSeriesStore
from storage.timeseries import SeriesTags
from tests.contract.conftest import INFLUX2_ENV
from tests.servers.influxdb import ADMIN_PASSWORD, InfluxDB1
from tests.servers.ports import free_port
from tests.servers.victoria import VictoriaMetrics

TOKEN = "s3cr3t-T0ken_value"
TAGS = {"pump-1": SeriesTags("lakeside", "b1", "pump")}


def test_url_names_server_credentials_org_bucket_and_v1_mapping() -> None:
    c = InfluxConfig.parse(f"influxdb://{TOKEN}@influx.example:8087?org=acme&bucket=plant")
    assert (c.base_url, c.token, c.org, c.bucket, c.db, c.rp) == (
        "http://influx.example:8087",
        TOKEN,
        "acme",
        "plant",
        "plant",
        "",
    )
    assert TOKEN not in repr(c)
    tls = InfluxConfig.parse("influxdbs://t@h?org=o&bucket=b&db=plantdb&rp=autogen")
    assert (tls.base_url, tls.db, tls.rp) == ("https://h:8086", "plantdb", "autogen")
    assert InfluxConfig.parse("influxdb://t@h?bucket=b&tls=1").base_url == "https://h:8086"
    v1 = InfluxConfig.parse("influxdb://grafana:p%40ss@h:8086?bucket=plant/autogen")
    assert (v1.username, v1.password, v1.token, v1.db, v1.rp) == (
        "grafana",
        "p@ss",
        "",
        "plant",
        "autogen",
    )
    # InfluxDB 2 tokens end in "=="; other characters may come percent-encoded
    assert InfluxConfig.parse("influxdb://aB-_9==@h?bucket=b").token == "aB-_9=="
    encoded = InfluxConfig.parse("influxdb://a%2Fb%40c%3D%3D@h?bucket=b")
    assert encoded.token == "a/b@c=="
    assert encoded.redact(f"GET /x?t={encoded.token} a%2Fb%40c%3D%3D") == "GET /x?t=*** ***"
    anonymous = InfluxConfig.parse("influxdb://h:8086?bucket=plant")
    assert (anonymous.token, anonymous.username) == ("", "")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (f"influxdb://{TOKEN}@h:8086?org=o", "missing ?bucket=NAME"),
        (f"influxdb://{TOKEN}@h:8086?bucket=b&buckt=x", "unknown parameter(s) ['buckt']"),
        (f"influxdb://{TOKEN}@:8086?bucket=b", "missing host"),
        (f"influxdb://{TOKEN}@h:99999?bucket=b", "bad port"),
    ],
)
def test_bad_urls_are_clear_and_never_show_the_token(url: str, message: str) -> None:
    with pytest.raises(StoreError) as caught:
        InfluxConfig.parse(url)
    assert message in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_unreachable_server_is_a_clear_start_up_error() -> None:
    port = free_port()  # nothing listens there
    with pytest.raises(StoreError) as caught:
        open_timeseries(f"influxdb://{TOKEN}@127.0.0.1:{port}?org=o&bucket=b", TAGS)
    assert f"InfluxDB at http://127.0.0.1:{port} is unreachable" in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_refused_credentials_are_a_clear_start_up_error(influxdb1: InfluxDB1) -> None:
    influxdb1.create_database("refused")
    with pytest.raises(StoreError, match="refused the credentials") as caught:
        open_timeseries(influxdb1.url("refused", password="wrong-" + TOKEN), TAGS)
    assert TOKEN not in str(caught.value)
    with pytest.raises(StoreError, match=r"refused the credentials \(HTTP 401\)") as caught:
        open_timeseries(f"influxdb://{TOKEN}@127.0.0.1:{influxdb1.port}?org=o&bucket=x", TAGS)
    assert TOKEN not in str(caught.value)


def test_missing_database_is_a_clear_start_up_error(influxdb1: InfluxDB1) -> None:
    with pytest.raises(StoreError, match="database 'nowhere' does not exist") as caught:
        open_timeseries(influxdb1.url("nowhere"), TAGS)
    assert ADMIN_PASSWORD not in str(caught.value)


def test_a_good_url_opens_the_influx_backend(influxdb1: InfluxDB1) -> None:
    influxdb1.create_database("opens")
    store = open_timeseries(influxdb1.url("opens"), TAGS)
    assert isinstance(store, InfluxTimeSeriesStore)
    assert store.latest(["pump-1"]) == {}
    store.close()


def test_failed_write_raises_store_error_without_the_token() -> None:
    config = InfluxConfig.parse(f"influxdb://{TOKEN}@127.0.0.1:{free_port()}?org=o&bucket=b")
    store = InfluxTimeSeriesStore(config, TAGS, verify=False, retries=0)
    reading = Reading("pump-1", "running", datetime(2024, 1, 1, tzinfo=UTC), 1.0)
    with pytest.raises(StoreError, match="write of 1 points to 'b' failed") as caught:
        store.write([reading])
    assert TOKEN not in str(caught.value)
    store.close()


def test_a_write_is_retried_until_the_server_is_back(tmp_path: Path) -> None:
    """The server is down when the write starts and comes up while it retries."""
    server = VictoriaMetrics(free_port(), tmp_path)
    config = InfluxConfig.parse(f"influxdb://{TOKEN}@127.0.0.1:{server.port}?org=o&bucket=b")
    store = InfluxTimeSeriesStore(config, TAGS, verify=False, retries=8)
    ts = datetime(2024, 1, 1, tzinfo=UTC)
    errors: list[BaseException] = []
    attempted = threading.Event()

    def write() -> None:
        attempted.set()
        try:
            store.write([Reading("pump-1", "current_a", ts, 12.5)])
        except StoreError as err:
            errors.append(err)

    writer = threading.Thread(target=write)
    writer.start()
    attempted.wait(5)
    server.start()
    writer.join(60)
    try:
        assert not errors
        stored = server.series('{equipment="pump-1"}')
        assert list(stored.values()) == [{int(ts.timestamp() * 1000): 12.5}]
    finally:
        store.close()
        server.stop()


@pytest.mark.skipif(
    not os.environ.get(INFLUX2_ENV), reason=f"set {INFLUX2_ENV} to check a real InfluxDB 2"
)
def test_influxdb2_start_up_checks_name_what_is_wrong() -> None:
    url = os.environ[INFLUX2_ENV]
    config = InfluxConfig.parse(url)
    open_timeseries(url, TAGS).close()
    wrong_token = url.replace(config.token, "not-" + config.token, 1)
    with pytest.raises(StoreError, match="refused the credentials") as caught:
        open_timeseries(wrong_token, TAGS)
    assert config.token not in str(caught.value)
    missing = url.replace(f"bucket={config.bucket}", "bucket=plantroom-no-such-bucket", 1)
    with pytest.raises(StoreError, match="'plantroom-no-such-bucket' does not exist"):
        open_timeseries(missing, TAGS)
    # a bucket without the DBRP mapping InfluxQL needs
    headers = {"Authorization": f"Token {config.token}"}
    org = httpx.get(
        f"{config.base_url}/api/v2/orgs", params={"org": config.org}, headers=headers
    ).json()["orgs"][0]["id"]
    created = httpx.post(
        f"{config.base_url}/api/v2/buckets",
        json={"orgID": org, "name": "plantroom-no-dbrp", "retentionRules": []},
        headers=headers,
    )
    created.raise_for_status()
    try:
        unmapped = url.replace(f"bucket={config.bucket}", "bucket=plantroom-no-dbrp", 1)
        with pytest.raises(StoreError, match="has no DBRP mapping"):
            open_timeseries(unmapped, TAGS)
    finally:
        httpx.delete(f"{config.base_url}/api/v2/buckets/{created.json()['id']}", headers=headers)
