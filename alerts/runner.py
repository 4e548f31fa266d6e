"""The alert service: reads the latest values, runs the state machines, applies transitions.

Each step polls ``store.latest()`` for every machine (works across processes and with any
backend), evaluates every (rule, machine) and the root-cause rules, and saves each changed
alert through ``alerts.records.save``. In one process with the collectors, ``notify()`` from a
``ReadingSink`` listener wakes the loop as soon as a batch is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.exc import SQLAlchemyError

from alerts import records as alert_records
from alerts.conditions import MachineView, Point
from alerts.conditions import evaluate as evaluate_condition
from alerts.engine import AlertState, Inputs, evaluate
from alerts.escalation import escalate_due
from alerts.maintenance import in_maintenance
from alerts.outbox import Outbox
from alerts.planner import plan_and_escalate
from core.catalogue import SignalType, load_catalogue
from core.clock import Clock, SystemClock
from core.events import EventBus
from core.logs import FailureTracker, event
from core.notices import Notice
from core.readings import Quality, Reading
from core.rules import Rule, effective_rules, history_window, signals_of
from core.site import Equipment, Site
from core.subjects import gateway_key, gateway_subject
from storage.records import RecordsDB
from storage.timeseries import StoreError, TimeSeriesStore

log = logging.getLogger("plantroom.alerts")
PLAN_EVERY = 60.0  # seconds between planner steps: occurrences are minutes to months apart


@dataclass(frozen=True, slots=True)
class _Decision:
    rule: Rule
    subject: str
    inputs: Inputs


class AlertService:
    def __init__(
        self,
        site: Site,
        store: TimeSeriesStore,
        records: RecordsDB,
        clock: Clock | None = None,
        bus: EventBus | None = None,
        webhook_url: str | None = None,
        interval: float = 0.25,
    ) -> None:
        self.site = site
        self.store = store
        self.records = records
        self.clock = clock or SystemClock()
        self.bus = bus
        self.interval = interval
        self.config = site.alerts
        self.tz = ZoneInfo(site.site.timezone)
        catalogue = load_catalogue()
        self.rules: dict[str, list[Rule]] = {}
        self.bool_signals: dict[str, frozenset[str]] = {}
        self.history_signals: dict[tuple[str, str], timedelta] = {}
        for eq in site.equipment:
            spec = catalogue.kind(eq.kind)
            rules = effective_rules(
                eq.kind, eq.role, self.config.rules, eq.rules, set(spec.signals)
            )
            # titles name the machine: "生活变频泵1号 水泵跳闸" on tickets and notifications
            self.rules[eq.id] = [
                r.model_copy(update={"name": f"{eq.name} {r.name}"}) for r in rules
            ]
            self.bool_signals[eq.id] = frozenset(
                n for n, s in spec.signals.items() if s.type is SignalType.BOOL
            )
            for rule in rules:
                window = history_window(rule.when)
                if window > timedelta(0):
                    for signal in signals_of(rule.when):
                        key = (eq.id, signal)
                        self.history_signals[key] = max(
                            window, self.history_signals.get(key, timedelta(0))
                        )
        self.root_rules = {
            r.id: r
            for kind in ("gateway", "site")
            for r in effective_rules(kind, None, self.config.rules, {}, set())
        }
        self.gateways: dict[str, list[str]] = {}
        for eq in site.equipment:
            gw = gateway_key(eq)
            if gw is not None:
                self.gateways.setdefault(gw, []).append(eq.id)
        self.gateways = {gw: ids for gw, ids in self.gateways.items() if len(ids) >= 2}
        self.history: dict[tuple[str, str], deque[Point]] = {}
        self.states: dict[tuple[str, str], AlertState] = {}
        self.watched_since = self.clock.now()
        self.outbox = Outbox(records.engine, webhook_url)
        self._failures = FailureTracker(log)
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loaded = False

    # ------------------------------------------------------------ state

    def load(self) -> None:
        """Load persisted alert states (pending timers resume, firing alerts stay fired)."""
        by_fp = alert_records.load_states(self.records.engine)
        self.states = {(s.rule_id, s.subject): s for s in by_fp.values()}
        now = self.clock.now()
        for (eq, signal), window in self.history_signals.items():
            try:
                past = self.store.history(eq, signal, now - window - timedelta(minutes=1), now)
            except StoreError as err:
                self._failures.failed("history-backfill", str(err))
                continue
            points = self.history.setdefault((eq, signal), deque())
            for reading in past:
                if isinstance(reading, Reading):
                    self._remember_one(points, reading)
        self._loaded = True

    def state(self, rule_id: str, subject: str) -> AlertState:
        key = (rule_id, subject)
        found = self.states.get(key)
        return found if found is not None else AlertState.new(rule_id, subject)

    def _remember(self, latest: dict[tuple[str, str], Reading], now: datetime) -> None:
        for key, window in self.history_signals.items():
            points = self.history.setdefault(key, deque())
            reading = latest.get(key)
            if reading is not None:
                self._remember_one(points, reading)
            horizon = now - window - timedelta(minutes=1)
            while len(points) > 1 and points[1][0] < horizon:
                points.popleft()

    @staticmethod
    def _remember_one(points: deque[Point], reading: Reading) -> None:
        if reading.quality is not Quality.GOOD or reading.value is None:
            return
        if points and reading.ts <= points[-1][0]:
            return
        points.append((reading.ts, reading.value))

    # ------------------------------------------------------------ one evaluation

    def step(self) -> list[Notice]:
        """Evaluate everything once at ``clock.now()``; returns what happened."""
        if not self._loaded:
            self.load()
        now = self.clock.now()
        try:
            latest = self.store.latest([eq.id for eq in self.site.equipment])
            store_ok = True
            self._failures.recovered("timeseries-store")
        except Exception as err:  # whatever the backend raises, the store cannot be read
            self._failures.failed("timeseries-store", f"{type(err).__name__}: {err}")
            latest, store_ok = {}, False
        self._remember(latest, now)
        try:
            with self.records.engine.connect() as conn:
                on_site = alert_records.on_site_equipment(conn)
        except SQLAlchemyError as err:
            self._failures.failed("records-db", str(err))
            return []
        by_machine: dict[str, dict[str, Reading]] = {}
        for (eq_id, signal), reading in latest.items():
            by_machine.setdefault(eq_id, {})[signal] = reading

        decisions: list[_Decision] = []
        comms: dict[str, bool | None] = {}
        for eq in self.site.equipment:
            # the other machines of its set (duty/standby pumps), on their latest values
            peers = {
                other.id: MachineView(
                    latest=by_machine.get(other.id, {}), max_age=self.config.max_age
                )
                for other in self.site.equipment
                if eq.group is not None and other.group == eq.group and other.id != eq.id
            }
            view = MachineView(
                latest=by_machine.get(eq.id, {}),
                history={s: self.history.get((eq.id, s), deque()) for s in self._hist(eq)},
                bool_signals=self.bool_signals[eq.id],
                watched_since=self.watched_since,
                max_age=self.config.max_age,
                peers=peers,
                tz=self.tz,
            )
            maintenance = self._maintenance(eq, view, now, on_site)
            for rule in self.rules[eq.id]:
                state = self.state(rule.id, eq.id)
                condition = (
                    evaluate_condition(rule.when, view, now, state.active) if store_ok else None
                )
                if rule.is_comms:
                    comms[eq.id] = condition
                suppressed = maintenance and not rule.never_suppress
                inputs = self._inputs(rule, condition, suppressed, _observed_at(rule, view))
                decisions.append(_Decision(rule, eq.id, inputs))
        decisions = self._root_causes(decisions, comms, store_ok)

        notices: list[Notice] = []
        by_subject: dict[str, list[_Decision]] = {}
        for decision in decisions:
            by_subject.setdefault(decision.subject, []).append(decision)
        for group in by_subject.values():
            notices += self._apply_group(group, now)
        return notices

    def _hist(self, eq: Equipment) -> Iterable[str]:
        return (signal for (eq_id, signal) in self.history_signals if eq_id == eq.id)

    def _inputs(
        self,
        rule: Rule,
        condition: bool | None,
        suppressed: bool,
        observed_at: datetime | None = None,
    ) -> Inputs:
        return Inputs(condition, rule.for_, suppressed, self.config.flapping, observed_at)

    def _maintenance(
        self, eq: Equipment, view: MachineView, now: datetime, on_site: set[str]
    ) -> bool:
        """Alerts of this machine are recorded but page nobody right now."""
        if eq.id in on_site:
            return True
        inspection = view.latest.get("inspection_mode")
        if (
            inspection is not None
            and inspection.quality is Quality.GOOD
            and inspection.value
            and now - inspection.ts <= self.config.max_age
        ):
            return True
        return in_maintenance(self.config.maintenance, eq, now, self.tz)

    def _root_causes(
        self, decisions: list[_Decision], comms: dict[str, bool | None], store_ok: bool
    ) -> list[_Decision]:
        """One alert for the cause: store, site-wide silence, or a gateway; not per machine."""
        watched = [eq_id for eq_id in comms]
        site_silent = store_ok and len(watched) >= 2 and all(comms[e] is True for e in watched)
        covered: set[str] = set(watched) if (site_silent or not store_ok) else set()
        root: list[_Decision] = []
        site_subject = f"site:{self.site.site.id}"

        def known(value: bool) -> bool | None:
            return value if store_ok else None

        if "store_down" in self.root_rules:
            rule = self.root_rules["store_down"]
            root.append(_Decision(rule, site_subject, self._inputs(rule, not store_ok, False)))
        if "no_data" in self.root_rules:
            rule = self.root_rules["no_data"]
            root.append(
                _Decision(rule, site_subject, self._inputs(rule, known(site_silent), False))
            )
        if "gateway_down" in self.root_rules:
            rule = self.root_rules["gateway_down"]
            for gateway, members in sorted(self.gateways.items()):
                down = all(comms.get(e) is True for e in members)
                if down and not site_silent:
                    covered.update(members)
                condition = known(down and not site_silent)
                root.append(
                    _Decision(rule, gateway_subject(gateway), self._inputs(rule, condition, False))
                )
        out = [
            replace(d, inputs=replace(d.inputs, condition=False))
            if d.rule.is_comms and d.subject in covered and store_ok
            else d
            for d in decisions
        ]
        return out + root

    def _apply_group(self, group: list[_Decision], now: datetime) -> list[Notice]:
        """One subject's rules, each after the rules that may inhibit it (entrapment before
        elevator fault before out of service), so inhibition uses this step's states."""
        notices: list[Notice] = []
        inhibited: set[str] = set()
        pending = group
        while pending:
            blocked = {target for d in pending for target in d.rule.inhibits}
            ready = [d for d in pending if d.rule.id not in blocked] or pending  # a cycle
            for decision in ready:
                if decision.rule.id in inhibited:
                    decision = replace(decision, inputs=replace(decision.inputs, suppressed=True))
                notices += self._apply(decision, now)
                if self.state(decision.rule.id, decision.subject).active:
                    inhibited.update(decision.rule.inhibits)
            pending = [d for d in pending if d not in ready]
        return notices

    def _apply(self, decision: _Decision, now: datetime) -> list[Notice]:
        key = (decision.rule.id, decision.subject)
        old = self.state(*key)
        new, transitions = evaluate(old, decision.inputs, now)
        if new == old:
            return []
        try:
            saved, notices = alert_records.save(
                self.records.engine, old, new, transitions, decision.rule, self.config, now
            )
        except alert_records.Conflict:
            self._reload(key, old)
            return []
        except SQLAlchemyError as err:
            self._failures.failed("records-db", str(err))
            return []  # nothing changed in memory: the same change is tried next step
        self._failures.recovered("records-db")
        self.states[key] = saved
        for t in transitions:
            event(
                log,
                f"alert {t.change}",
                rule=t.state.rule_id,
                subject=t.state.subject,
                episode=t.state.episode,
                suppressed=t.state.suppressed,
            )
        return notices

    def _reload(self, key: tuple[str, str], old: AlertState) -> None:
        with self.records.engine.connect() as conn:
            fresh = alert_records.load_state(conn, old.fingerprint)
        if fresh is not None:
            self.states[key] = fresh

    def escalate(self) -> list[Notice]:
        try:
            return escalate_due(self.records.engine, self.clock.now())
        except SQLAlchemyError as err:
            self._failures.failed("escalation", str(err))
            return []

    def plan(self) -> None:
        """Planned work: make the due orders, escalate the overdue ones (alerts/planner)."""
        try:
            made, raised = plan_and_escalate(
                self.site, self.store, self.records.engine, self.clock.now()
            )
        except (SQLAlchemyError, StoreError) as err:
            self._failures.failed("planner", str(err))
            return
        self._failures.recovered("planner")
        for order in made:
            event(
                log,
                "planned order scheduled",
                order=order.id,
                equipment=order.equipment,
                plan=order.plan,
            )
        for order, level in raised:
            event(
                log,
                "planned order overdue",
                logging.WARNING,
                order=order.id,
                equipment=order.equipment,
                escalation=level,
            )

    # ------------------------------------------------------------ the process loop

    def notify(self, _batch: Sequence[Reading] = ()) -> None:
        """Wake the loop now (a ReadingSink listener); safe from any thread."""
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(wake.set)

    def publish(self, notices: Iterable[Notice]) -> None:
        if self.bus is None:
            return
        for notice in notices:
            self.bus.publish(notice.as_event())

    async def run(self, stop: asyncio.Event) -> None:
        """Evaluate every ``interval`` (or when woken) until ``stop`` is set."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        with contextlib.suppress(SQLAlchemyError, StoreError):
            await asyncio.to_thread(self.load)  # else step() loads, once the DB answers
        event(
            log,
            "alert engine started",
            machines=len(self.site.equipment),
            rules=sum(len(r) for r in self.rules.values()),
            alerts=len(self.states),
        )
        if self.outbox.url is None:
            event(
                log,
                "no webhook configured: notifications wait in the outbox",
                logging.WARNING,
                variable=self.config.webhook_env,
            )
        delivery = asyncio.ensure_future(self._deliver(stop))
        last_escalation = 0.0
        last_plan = -PLAN_EVERY
        try:
            while not stop.is_set():
                self._wake.clear()
                try:
                    self.publish(await asyncio.to_thread(self.step))
                    if self.clock.monotonic() - last_escalation >= 1.0:
                        last_escalation = self.clock.monotonic()
                        self.publish(await asyncio.to_thread(self.escalate))
                    if self.clock.monotonic() - last_plan >= PLAN_EVERY:
                        last_plan = self.clock.monotonic()
                        await asyncio.to_thread(self.plan)
                    self._failures.recovered("alert-step")
                except Exception as err:  # the one place: the engine outlives any bad step
                    self._failures.failed("alert-step", f"{type(err).__name__}: {err}")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.interval)
        finally:
            stop.set()
            await delivery
            self.outbox.close()

    async def _deliver(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.outbox.deliver_due, self.clock.now())
            except SQLAlchemyError as err:
                self._failures.failed("outbox", str(err))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)


def _observed_at(rule: Rule, view: MachineView) -> datetime | None:
    """When the newest good reading a rule looks at was taken: the time of an alert's cause.
    None for rules about missing data (stale, comms), whose cause is the absence of one."""
    if rule.is_comms:
        return None
    stamps = [
        reading.ts
        for signal in signals_of(rule.when)
        if (reading := view.latest.get(signal)) is not None and reading.quality is Quality.GOOD
    ]
    return max(stamps, default=None)
