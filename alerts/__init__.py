"""Alerts (DESIGN §8): rules over the latest readings → a pure alert state machine per (rule,
machine) → exactly one maintenance ticket per episode, deadlines, escalation and webhook
notifications, all kept in the records DB. Imports only ``core`` and ``storage``."""

from alerts.engine import AlertState, Change, Inputs, Status, Transition, evaluate, fingerprint
from alerts.outbox import Outbox
from alerts.runner import AlertService

__all__ = [
    "AlertService",
    "AlertState",
    "Change",
    "Inputs",
    "Outbox",
    "Status",
    "Transition",
    "evaluate",
    "fingerprint",
]
