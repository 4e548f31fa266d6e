"""plantroom beside Node-RED, the peer people would pick for MQTT → InfluxDB: both drain the
same backlog of QoS 1 messages from mosquitto into the same kind of VictoriaMetrics (which
takes InfluxDB line protocol on ``/api/v2/write``), and we count what each stored.

Node-RED (``node-red`` and ``node-red-contrib-influxdb`` from npm, installed by ``make
bench-peer`` into a scratch directory) runs the flow people build for this: mqtt in (QoS 1,
persistent session, JSON) → a function making one point per message → join (1,000 points or
50 ms) → influxdb batch (v2 API, ms precision). plantroom runs its collector and sink with the
InfluxDB store, as ``plantroom collect`` with ``PLANTROOM_TSDB_URL=influxdb://…``.

Each subject in each round gets a fresh mosquitto and a fresh VictoriaMetrics. The session is
registered first (Node-RED: a probe message the flow drops; plantroom: connect and leave),
then N messages are queued at the broker and the subscriber is started again. Rate = N ÷
(first message received → last write acknowledged by VictoriaMetrics); Node-RED reports its
times from inside the flow (a complete node on the influxdb batch node), plantroom from its
sink's stored counter. Afterwards VictoriaMetrics is asked what it holds: a round that stored
anything but exactly the published values is discarded with the reason.

Node-RED acknowledges each message to the broker when it arrives; plantroom only after the
write (so plantroom loses nothing if it dies mid-stream; Node-RED may).

    make bench-peer          (or: python -m bench.peer --node-red-dir DIR --messages 40000)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.publish import single

from bench.ingest import TOPIC, VALUES_PER_MESSAGE, publish
from bench.rounds import Discard, Series, load_average, ratio, report
from collectors.mqtt import MqttCollector, MqttCollectorSettings
from collectors.sink import ReadingSink
from core.endpoints import MqttEndpoint
from core.metrics import Metrics
from core.site import Site, load_site
from storage import site_tags
from storage.influx_ts import InfluxConfig, InfluxTimeSeriesStore
from tests.servers.mosquitto import start_mosquitto
from tests.servers.ports import free_port, wait_listening
from tests.servers.victoria import VictoriaMetrics, start_victoria

ROOT = Path(__file__).resolve().parent.parent
MEASUREMENT_MATCH = '{__name__=~"pump_.*"}'

# One point per message, tagged as plantroom tags it (DESIGN §7); booleans as 0/1 like ours.
# A probe (seq < 0) only marks the subscription as live and is not stored.
_TO_POINT = """
const p = msg.payload;
if (p.seq < 0) { global.set('ready', true); return null; }
if (!global.get('first')) { global.set('first', Date.now()); }
global.set('received', (global.get('received') || 0) + 1);
const fields = {};
for (const k in p.values) {
  const v = p.values[k];
  fields[k] = typeof v === 'boolean' ? (v ? 1 : 0) : v;
}
msg.payload = {measurement: 'pump',
  tags: {site: 'lakeside', building: 'b1', equipment: 'pump-domestic-1'},
  fields: fields, timestamp: new Date(p.ts)};
return msg;
"""
_WRITTEN = """
global.set('written', (global.get('written') || 0) + msg.payload.length);
global.set('last', Date.now());
return null;
"""
_ERROR = """
global.set('error', String(msg.error && msg.error.message));
return null;
"""
_STATS = """
msg.payload = {ready: !!global.get('ready'), first: global.get('first') || 0,
  last: global.get('last') || 0, written: global.get('written') || 0,
  received: global.get('received') || 0, error: global.get('error') || ''};
return msg;
"""


def flow(mqtt_port: int, influx_url: str) -> list[dict[str, object]]:
    """The Node-RED flow: mqtt in → point → join → influxdb batch, plus a stats endpoint."""

    def fn(node_id: str, code: str, wires: list[list[str]]) -> dict[str, object]:
        return {
            "id": node_id,
            "type": "function",
            "z": "nr-tab",
            "func": code,
            "outputs": 1,
            "wires": wires,
        }

    return [
        {"id": "nr-tab", "type": "tab", "label": "bench"},
        {
            "id": "nr-broker",
            "type": "mqtt-broker",
            "broker": "127.0.0.1",
            "port": str(mqtt_port),
            "clientid": "nodered-bench",
            "usetls": False,
            "protocolVersion": "4",
            "keepalive": "30",
            "cleansession": False,
            "autoConnect": True,
            # keep the subscription in the persistent session when Node-RED stops
            "autoUnsubscribe": False,
        },
        {
            "id": "nr-influx",
            "type": "influxdb",
            "influxdbVersion": "2.0",
            "url": influx_url,
            "timeout": "10",
            "rejectUnauthorized": False,
            "hostname": "",
            "port": "",
            "database": "",
        },
        {
            "id": "nr-in",
            "type": "mqtt in",
            "z": "nr-tab",
            "topic": TOPIC,
            "qos": "1",
            "datatype": "json",
            "broker": "nr-broker",
            "nl": False,
            "rap": True,
            "rh": 0,
            "inputs": 0,
            "wires": [["nr-point"]],
        },
        fn("nr-point", _TO_POINT, [["nr-join"]]),
        {
            "id": "nr-join",
            "type": "join",
            "z": "nr-tab",
            "mode": "custom",
            "build": "array",
            "property": "payload",
            "propertyType": "msg",
            "key": "topic",
            "joiner": "\\n",
            "joinerType": "str",
            "accumulate": False,
            "timeout": "0.05",
            "count": "1000",
            "reduceRight": False,
            "wires": [["nr-out"]],
        },
        {
            "id": "nr-out",
            "type": "influxdb batch",
            "z": "nr-tab",
            "influxdb": "nr-influx",
            "precisionV18FluxV20": "ms",
            "org": "bench",
            "bucket": "bench",
            "wires": [],
        },
        {
            "id": "nr-written",
            "type": "complete",
            "z": "nr-tab",
            "scope": ["nr-out"],
            "uncaught": False,
            "wires": [["nr-count"]],
        },
        fn("nr-count", _WRITTEN, [[]]),
        {
            "id": "nr-catch",
            "type": "catch",
            "z": "nr-tab",
            "scope": None,
            "uncaught": False,
            "wires": [["nr-error"]],
        },
        fn("nr-error", _ERROR, [[]]),
        {
            "id": "nr-stats-in",
            "type": "http in",
            "z": "nr-tab",
            "url": "/bench",
            "method": "get",
            "wires": [["nr-stats"]],
        },
        fn("nr-stats", _STATS, [["nr-stats-out"]]),
        {
            "id": "nr-stats-out",
            "type": "http response",
            "z": "nr-tab",
            "statusCode": "",
            "headers": {},
            "wires": [],
        },
    ]


class NodeRed:
    """A Node-RED process running ``flow`` from its own user directory."""

    def __init__(self, install_dir: Path, workdir: Path, mqtt_port: int, influx_url: str) -> None:
        self.red_js = install_dir / "node_modules" / "node-red" / "red.js"
        if not self.red_js.exists():
            raise SystemExit(f"Node-RED is not installed in {install_dir} (run make bench-peer)")
        self.workdir = workdir
        self.port = free_port()
        workdir.mkdir(parents=True, exist_ok=True)
        # the contrib node is found through the user directory's node_modules
        link = workdir / "node_modules"
        if not link.exists():
            link.symlink_to(install_dir / "node_modules")
        (workdir / "flows.json").write_text(json.dumps(flow(mqtt_port, influx_url)))
        (workdir / "flows_cred.json").write_text(json.dumps({"nr-influx": {"token": "bench"}}))
        (workdir / "settings.js").write_text(
            "module.exports = {flowFile: 'flows.json', credentialSecret: false, "
            "disableEditor: true, httpAdminRoot: false, "
            "logging: {console: {level: 'warn'}}};\n"
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "node",
                str(self.red_js),
                "--userDir",
                str(self.workdir),
                "--port",
                str(self.port),
                "--settings",
                str(self.workdir / "settings.js"),
            ],
            stdout=open(self.workdir / "node-red.log", "ab"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
        )
        wait_listening(self.port, timeout=60)

    def stats(self) -> dict[str, float]:
        answer = httpx.get(f"http://127.0.0.1:{self.port}/bench", timeout=10)
        answer.raise_for_status()
        stats: dict[str, float] = answer.json()
        return stats

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(30)
            self.process = None


def stored_values(vm: VictoriaMetrics) -> int:
    """How many samples VictoriaMetrics holds for the pump measurement."""
    return sum(len(samples) for samples in vm.series(MEASUREMENT_MATCH).values())


def check_stored(vm: VictoriaMetrics, count: int, who: str) -> None:
    stored = stored_values(vm)
    if stored != count * VALUES_PER_MESSAGE:
        raise Discard(f"{who}: stored {stored} values, published {count * VALUES_PER_MESSAGE}")


def node_red_round(install_dir: Path, workdir: Path, count: int) -> float:
    broker = start_mosquitto(workdir / "mosquitto")
    vm = start_victoria(workdir / "victoria")
    red = NodeRed(install_dir, workdir / "node-red", broker.port, vm.base_url)
    endpoint = MqttEndpoint.parse(broker.url)
    try:
        red.start()
        deadline = time.monotonic() + 60
        while not red.stats()["ready"]:  # register the session: a probe until one arrives
            if time.monotonic() > deadline:
                raise Discard("node-red: never received the probe")
            probe = json.dumps({"ts": int(time.time() * 1000), "seq": -1, "values": {}})
            publish_raw(endpoint, probe)
            time.sleep(0.5)
        red.stop()
        publish(endpoint, count)
        red.start()
        deadline = time.monotonic() + 300
        while (stats := red.stats())["written"] < count:
            if time.monotonic() > deadline:
                raise Discard(
                    f"node-red: wrote {stats['written']} of {count} points in 300 s: {stats}"
                )
            time.sleep(0.05)
        if stats["written"] != count:
            raise Discard(f"node-red: wrote {stats['written']} points, published {count}")
        check_stored(vm, count, "node-red")
        return count / ((stats["last"] - stats["first"]) / 1000)
    finally:
        red.stop()
        vm.stop()
        broker.stop()


def publish_raw(endpoint: MqttEndpoint, payload: str) -> None:
    single(TOPIC, payload, qos=1, hostname=endpoint.host, port=endpoint.port)


async def _ours(
    site: Site, endpoint: MqttEndpoint, store: InfluxTimeSeriesStore, want: int
) -> tuple[float, float]:
    metrics = Metrics()
    sink = ReadingSink(store, metrics=metrics)
    settings = MqttCollectorSettings(endpoint, client_id="bench-collector")
    collector = MqttCollector(site, sink, settings, metrics=metrics)
    first: list[float] = []  # when the first message reached the collector's callback
    handle = collector.client.on_message
    assert handle is not None

    def timed(client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        if not first:
            first.append(time.perf_counter())
        handle(client, userdata, message)

    collector.client.on_message = timed
    stop = asyncio.Event()
    tasks = [asyncio.ensure_future(sink.run(stop)), asyncio.ensure_future(collector.run(stop))]
    try:
        await asyncio.wait_for(collector.connected.wait(), 15)
        await asyncio.sleep(0.3)  # bench only: the SUBACK is not observable from here
        deadline = time.perf_counter() + 300
        while metrics.total("plantroom_readings_stored_total") < want * VALUES_PER_MESSAGE:
            if time.perf_counter() > deadline:
                raise Discard("plantroom: not all stored within 300 s")
            await asyncio.sleep(0.002)
        last = time.perf_counter()
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    return (first[0] if first else last), last


def plantroom_round(site: Site, workdir: Path, count: int) -> float:
    broker = start_mosquitto(workdir / "mosquitto")
    vm = start_victoria(workdir / "victoria")
    endpoint = MqttEndpoint.parse(broker.url)
    store = InfluxTimeSeriesStore(
        InfluxConfig.parse(f"influxdb://127.0.0.1:{vm.port}?bucket=bench"),
        site_tags(site),
        verify=False,
    )
    try:
        asyncio.run(_ours(site, endpoint, store, 0))  # register the persistent session
        publish(endpoint, count)
        first, last = asyncio.run(_ours(site, endpoint, store, count))
        check_stored(vm, count, "plantroom")
        return count / (last - first)
    finally:
        store.close()
        vm.stop()
        broker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--node-red-dir", type=Path, required=True)
    parser.add_argument("--messages", type=int, default=40_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    site = load_site(ROOT / "examples" / "site.yaml")
    red = Series("Node-RED 4 → influxdb batch (acks on receipt)")
    ours = Series("plantroom → InfluxDB store (acks after write)")
    count = args.messages
    print(f"{count:,} QoS 1 messages of {VALUES_PER_MESSAGE} values; {load_average()}")
    with tempfile.TemporaryDirectory() as tmp:
        for round_no in range(1, args.rounds + 1):
            for s, run in (
                (red, lambda wd: node_red_round(args.node_red_dir.resolve(), wd, count)),
                (ours, lambda wd: plantroom_round(site, wd, count)),
            ):
                workdir = Path(tmp) / f"round{round_no}-{len(s.values)}-{s.name[:4]}"
                try:
                    s.add(run(workdir))
                    print(
                        f"  round {round_no} {s.name}: {s.values[-1]:,.0f} msg/s ({load_average()})"
                    )
                except Discard as why:
                    s.discard(round_no, str(why))
                    print(f"  round {round_no} {s.name}: discarded: {why}")
    print()
    print(f"backlog of {count:,} messages drained into VictoriaMetrics, {args.rounds} rounds")
    report([red, ours])
    print(f"plantroom / Node-RED (medians): {ratio(ours, red)}")
    print(load_average())


if __name__ == "__main__":
    main()
