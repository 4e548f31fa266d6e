"""Wiring: which components run in which process, built from settings and the site file.

This is the only package that imports collectors, alerts, api and simulators together.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path

import uvicorn

from alerts.runner import AlertService
from alerts.statelog import StateRecorder
from api import ApiContext, create_app
from api.feed import LogbookFeed
from api.handover import drafter
from collectors.modbus import ModbusCollector, Shard
from collectors.modbus.shards import gateway_label, gateways, pinned_to, polls
from collectors.mqtt import MqttCollector, MqttCollectorSettings
from collectors.sink import ReadingSink
from core.endpoints import MqttEndpoint
from core.events import EventBus
from core.health import HealthBoard
from core.logs import event
from core.site import Site, load_site
from plantroom.broker import EmbeddedBroker, free_port
from plantroom.listen import StartupError, check_free, listen_socket
from plantroom.metrics_server import serve_metrics
from plantroom.settings import Settings
from simulators.chaos import chaos_scenario
from simulators.runner import Simulation
from storage import RecordsDB, TimeSeriesStore, open_timeseries, site_tags
from storage.buffer import DiskBuffer
from storage.records import migrate as migrate_records

log = logging.getLogger("plantroom")

Task = Callable[[asyncio.Event], Awaitable[None]]


def open_stores(settings: Settings, site: Site) -> tuple[TimeSeriesStore, RecordsDB]:
    return open_timeseries(settings.tsdb_url, site_tags(site)), RecordsDB(settings.db_url)


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handlers: the process's stop event rules shutdown."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def api_task(
    context: ApiContext,
    host: str,
    port: int,
    open_reads: bool = False,
    sock: socket.socket | None = None,
) -> Task:
    """Serve the API on ``sock``, or on ``host:port`` claimed now: either way a busy port
    stops the process at start-up with one clear line (StartupError), before anything says
    it is serving."""
    sock = sock if sock is not None else listen_socket(host, port, "the API")

    async def serve(stop: asyncio.Event) -> None:
        app = create_app(context, open_reads=open_reads)
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
        server = _QuietServer(config)
        serving = asyncio.ensure_future(server.serve(sockets=[sock]))
        await stop.wait()
        server.should_exit = True
        await serving
        sock.close()

    return serve


def handover_task(context: ApiContext) -> Task:
    """Draft each shift's handover as the shift ends (the API serves and signs them)."""

    async def draft(stop: asyncio.Event) -> None:
        await drafter(context, stop)

    return draft


def watch_collection(
    health: HealthBoard, site: Site, sink: ReadingSink, mqtt: MqttCollector
) -> None:
    """The collectors' part of /health: the broker connection, and a batch stored within
    twice the site's longest stale timeout or poll interval (at least 30 s)."""
    broker = mqtt.settings.endpoint.redacted()
    health.probe(
        "mqtt-broker",
        lambda: None if mqtt.connected.is_set() else f"not connected to {broker}",
    )
    spans = [timedelta(seconds=15)]
    for eq in site.equipment:
        if eq.source.mqtt is not None:
            spans.append(eq.source.mqtt.stale_after)
        if eq.source.modbus is not None:
            spans.append(eq.source.modbus.poll_interval)
    beat = health.heartbeat("collectors", 2 * max(spans), "no readings stored")
    sink.listen(lambda _batch: beat())


def state_recorder(
    site: Site, store: TimeSeriesStore, records: RecordsDB, sink: ReadingSink, bus: EventBus
) -> StateRecorder:
    """Logbook entries for state changes and comms losses, from every stored batch."""
    recorder = StateRecorder(site, records, bus.publish)
    recorder.tracker.prime(store.latest(eq.id for eq in site.equipment).values())
    sink.listen(recorder.observe)
    return recorder


async def run_tasks(tasks: list[Task], stop: asyncio.Event, duration: float | None) -> None:
    """Run every task until SIGINT/SIGTERM, ``duration`` seconds, or one task failing."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    running = [asyncio.ensure_future(task(stop)) for task in tasks]
    if duration is not None:
        loop.call_later(duration, stop.set)
    await asyncio.wait(
        [*running, asyncio.ensure_future(stop.wait())], return_when="FIRST_COMPLETED"
    )
    stop.set()
    results = await asyncio.gather(*running, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
            raise result


def mqtt_endpoint(settings: Settings) -> MqttEndpoint:
    return MqttEndpoint.parse(settings.mqtt_url)


async def start_embedded_broker(endpoint: MqttEndpoint) -> EmbeddedBroker:
    """The in-process broker ``PLANTROOM_MQTT_URL=embedded`` (or ``embedded://HOST:PORT``)
    asks for: one box for a small property needs no separate mosquitto."""
    broker = EmbeddedBroker(endpoint.port or None, endpoint.host)
    await broker.start()
    return broker


COMPONENTS = ("collect", "alerts", "api")


def parse_components(raw: str) -> list[str]:
    """``collect,alerts,api`` (any of them, in any order) as a list; ValueError otherwise."""
    names = [name.strip() for name in raw.split(",") if name.strip()]
    unknown = [name for name in names if name not in COMPONENTS]
    if unknown or not names:
        shown = ", ".join(repr(n) for n in unknown) if unknown else "none"
        raise ValueError(f"components: {shown} given; choose from {', '.join(COMPONENTS)}")
    return [name for name in COMPONENTS if name in names]


async def run(
    settings: Settings,
    components: list[str],
    host: str = "127.0.0.1",
    port: int = 8080,
    interval: float = 0.25,
    duration: float | None = None,
) -> None:
    """``plantroom run`` (and ``collect``, ``alerts``, ``api``, which are one component each):
    the named components in one process, on the stores and broker of the environment. In one
    process they share the stores and the live stream: the alert engine evaluates each batch
    the collectors store, and the API streams the engine's events as they happen. With
    ``PLANTROOM_MQTT_URL=embedded`` the collectors get an in-process broker, whose address
    is printed for the devices. Every start-up failure (site, endpoints, a busy port) is
    raised before anything is started or announced."""
    site = load_site(settings.site_path)
    tasks: list[Task] = []
    endpoint: MqttEndpoint | None = None
    shard: Shard | None = None
    if "collect" in components:  # configuration errors before anything is opened
        endpoint = mqtt_endpoint(settings)
        shard = Shard.parse(settings.collector_shard, settings.collector_name)
        if settings.metrics_port is not None:
            check_free(settings.metrics_host, settings.metrics_port, "metrics")
    api_sock = listen_socket(host, port, "the API") if "api" in components else None
    broker: EmbeddedBroker | None = None
    if endpoint is not None and endpoint.embedded:
        broker = EmbeddedBroker(endpoint.port or None, endpoint.host)
        try:
            await broker.start()
        except StartupError:
            if api_sock is not None:
                api_sock.close()
            raise
        endpoint = endpoint.with_port(broker.port)
    try:
        ensure_data_dir(settings)
        store, records = open_stores(settings, site)
    except BaseException:
        if api_sock is not None:
            api_sock.close()
        if broker is not None:
            await broker.stop()
        raise
    bus = EventBus()
    health = HealthBoard()  # what the API's /health reports besides the stores
    sink: ReadingSink | None = None
    if endpoint is not None and shard is not None:
        sink = ReadingSink(
            store,
            records,
            buffer=DiskBuffer(settings.buffer_path),
            letter_retention=settings.dead_letter_retention,
        )
        share_group = settings.share_group
        if endpoint.embedded and share_group:
            # amqtt ignores $share filters: a shared subscription would receive nothing
            event(log, "share group ignored on the embedded broker", logging.WARNING)
            share_group = None
        mqtt_settings = MqttCollectorSettings(
            endpoint,
            client_id=settings.client_id,
            share_group=share_group,
            max_clock_skew=settings.max_clock_skew,
            queue_probe=settings.queue_probe,
        )
        mqtt_collector = MqttCollector(site, sink, mqtt_settings)
        tasks += [sink.run, mqtt_collector.run]
        watch_collection(health, site, sink, mqtt_collector)
        if any(eq.source.modbus is not None for eq in site.equipment):
            tasks.append(ModbusCollector(site, sink, only=modbus_share(site, shard)).run)
        if settings.metrics_port is not None:
            metrics_host, metrics_port = settings.metrics_host, settings.metrics_port
            tasks.append(lambda stop: serve_metrics(stop, metrics_host, metrics_port))
    if "alerts" in components:
        webhook = os.environ.get(site.alerts.webhook_env)
        service = AlertService(
            site, store, records, bus=bus, webhook_url=webhook, interval=interval
        )
        tasks += [service.run, *_state_log_tasks(site, store, records, sink, bus)]
        if sink is not None:
            sink.listen(service.notify)  # evaluate as soon as a batch is stored
    if api_sock is not None:
        if "alerts" not in components:
            # the engine runs elsewhere: the live stream follows the logbook instead
            names = {eq.id: eq.name for eq in site.equipment}
            tasks.append(LogbookFeed(records, bus.publish, names).run)
        context = ApiContext(
            site=site,
            store=store,
            records=records,
            events=bus,
            health=health,
            max_body=settings.api_max_body,
        )
        tasks += [api_task(context, host, port, sock=api_sock), handover_task(context)]
        event(log, "serving api", url=f"http://{host}:{port}/api/v1", site=site.site.id)
    print(f"plantroom {'+'.join(components)}: site {site.site.id} ({site.site.name})", flush=True)
    if endpoint is not None:
        print(f"  MQTT broker:    {endpoint.redacted()}{' (embedded)' if broker else ''}")
    if api_sock is not None:
        print(f"  API:            http://{host}:{port}/api/v1/equipment")
        print(f"  alarm board:    http://{host}:{port}/")
    print(f"  data directory: {settings.data_dir.resolve()}", flush=True)
    event(log, "running", components=",".join(components), site=site.site.id)
    try:
        await run_tasks(tasks, asyncio.Event(), duration)
    finally:
        store.close()
        records.close()
        if broker is not None:
            await broker.stop()
        event(log, "stopped", components=",".join(components))


def ensure_data_dir(settings: Settings) -> None:
    """Create the folder of any SQLite file the settings name (a fresh checkout has none)."""
    for url in (settings.tsdb_url, settings.db_url):
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)


def _state_log_tasks(
    site: Site,
    store: TimeSeriesStore,
    records: RecordsDB,
    sink: ReadingSink | None,
    bus: EventBus,
) -> list[Task]:
    """Logbook entries for state changes and comms losses: from each batch the sink stores
    when the collectors are in this process, else by following the store."""
    if sink is not None:
        return [state_recorder(site, store, records, sink, bus).run]
    recorder = StateRecorder(site, records, bus.publish)
    recorder.tracker.prime(store.latest(eq.id for eq in site.equipment).values())

    async def follow(stop: asyncio.Event) -> None:
        await recorder.follow(store, stop)

    return [recorder.run, follow]


def modbus_share(site: Site, shard: Shard) -> set[str]:
    """The machines this process polls; logs which gateways it takes and which it leaves."""
    mine: set[str] = set()
    taken: list[str] = []
    for key, machines in gateways(site).items():
        label = gateway_label(key)
        if polls(key, machines, shard):
            mine.update(eq.id for eq in machines)
            taken.append(label)
            event(
                log,
                "modbus gateway polled here",
                gateway=label,
                shard=str(shard),
                equipment=",".join(eq.id for eq in machines),
            )
        else:
            pin = pinned_to(machines)
            reason = f"collector {pin}" if pin else "another shard"
            event(log, "modbus gateway left to others", gateway=label, to=reason)
    event(log, "modbus share", shard=str(shard), gateways=len(taken), machines=len(mine))
    if not taken:
        event(log, "this collector polls no Modbus gateway", logging.WARNING, shard=str(shard))
    return mine


async def demo(
    data_dir: Path | None, port: int | None, duration: float | None, site_path: Path
) -> None:
    """Everything in one process on embedded defaults, with simulators (``plantroom demo``).
    Every port is claimed or checked before the banner: a busy one is one clear line."""
    site = load_site(site_path)
    settings = Settings.from_env(data_dir)
    api_port = port or 8080
    api_sock = listen_socket("127.0.0.1", api_port, "the API")
    broker = EmbeddedBroker()
    try:
        await broker.start()
    except StartupError:
        api_sock.close()
        raise
    try:
        endpoint = MqttEndpoint.parse("embedded").with_port(broker.port)
        # the demo shows the whole chain: now and then a machine faults and recovers; the
        # simulation also serves the site's Modbus machines as simulated gateways
        simulation = Simulation(site, endpoint, seed=1, scenario=chaos_scenario(site, seed=1))
        for server in simulation.modbus.servers if simulation.modbus else []:
            where = f"{server.framing}://{server.host}:{server.port}"
            check_free(server.host, server.port, f"the simulated Modbus gateway {where}")
        ensure_data_dir(settings)
        # the demo brings a records DB of an earlier demo up to date rather than refuse it
        # (production databases are upgraded by ``plantroom migrate``)
        migrate_records(settings.db_url)
        store, records = open_stores(settings, site)
    except BaseException:
        api_sock.close()
        await broker.stop()
        raise
    sink = ReadingSink(
        store,
        records,
        buffer=DiskBuffer(settings.buffer_path),
        letter_retention=settings.dead_letter_retention,
    )
    collector = MqttCollector(
        site,
        sink,
        MqttCollectorSettings(
            endpoint,
            client_id="plantroom-demo-collector",
            max_clock_skew=settings.max_clock_skew,
        ),
    )
    modbus_collector = ModbusCollector(site, sink)
    bus = EventBus()  # the live alarm stream: alerts, incidents, ticket events, logbook
    health = HealthBoard()
    watch_collection(health, site, sink, collector)
    context = ApiContext(site=site, store=store, records=records, events=bus, health=health)
    recorder = state_recorder(site, store, records, sink, bus)
    alert_service = AlertService(
        site, store, records, bus=bus, webhook_url=os.environ.get(site.alerts.webhook_env)
    )
    sink.listen(alert_service.notify)  # evaluate as soon as a batch is stored
    stop = asyncio.Event()
    print(f"plantroom demo: site {site.site.id} ({site.site.name}), {len(site.equipment)} machines")
    print(f"  data directory: {settings.data_dir.resolve()}")
    print(f"  MQTT broker:    {broker.url} (embedded)")
    for server in simulation.modbus.servers if simulation.modbus else []:
        print(f"  Modbus gateway: {server.framing}://{server.host}:{server.port} (simulated)")
    print(f"  alarm board:    http://127.0.0.1:{api_port}/")
    print(f"  API:            http://127.0.0.1:{api_port}/api/v1/equipment")
    print(f"  API docs:       http://127.0.0.1:{api_port}/docs")
    print("  stop with Ctrl-C" + (f"; stopping by itself after {duration:g}s" if duration else ""))
    try:
        await run_tasks(
            [
                sink.run,
                collector.run,
                simulation.run,
                recorder.run,
                alert_service.run,
                modbus_collector.run,
                # the demo listens on loopback only, so reading without a key is safe there
                api_task(context, "127.0.0.1", api_port, open_reads=True, sock=api_sock),
                handover_task(context),
            ],
            stop,
            duration,
        )
    finally:
        await broker.stop()
        store.close()
        records.close()
        event(log, "demo stopped")


__all__ = [
    "COMPONENTS",
    "api_task",
    "demo",
    "free_port",
    "handover_task",
    "modbus_share",
    "open_stores",
    "parse_components",
    "run",
    "run_tasks",
    "state_recorder",
]
