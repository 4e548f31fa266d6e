"""Alarm episodes of a period, read back from the logbook (for handovers and reports).

The alert engine writes every state change of an alert to the hash-chained logbook
(``type=alert``, ``data.change`` firing / flapping / paged / resolved, ``data.episode``). An
*episode* runs from its first firing (or flapping) entry to its resolved entry; one with no
resolved entry yet is still firing. Pending and cancelled entries never became alarms.
Reading the logbook rather than the alerts table is what lets a report for any past period
be recomputed and give the same answer twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Connection

from storage.logbook import LogEntry
from storage.logbook_query import LogQuery, read_all
from storage.ticket_queries import find_alerts

# an alarm still firing at a period's start began at most this long before it, as far as a
# report looks back (older ones show from the start of the look-back)
LOOKBACK = timedelta(days=31)
MAX_ENTRIES = 200_000
_STARTS = frozenset({"firing", "flapping"})


@dataclass(frozen=True, slots=True)
class AlarmEpisode:
    equipment: str  # the alert's subject: a machine id, or gateway:… / site:…
    rule_id: str
    episode: int
    title: str
    severity: str
    started_at: datetime
    ended_at: datetime | None  # None: still firing at the end of the period read

    def duration(self, until: datetime) -> timedelta:
        """How long it lasted, or has lasted by ``until`` when still firing."""
        end = self.ended_at if self.ended_at is not None else until
        return max(end - self.started_at, timedelta(0))


def episodes(
    entries: Iterable[LogEntry],
    start: datetime,
    end: datetime,
    severities: dict[tuple[str, str], str] | None = None,
) -> list[AlarmEpisode]:
    """Episodes overlapping [start, end) from alert logbook entries before ``end``, ordered
    by start; an end after ``end`` is not known yet and reads as still firing."""
    severities = severities or {}
    opened: dict[tuple[str, str, int], tuple[datetime, str]] = {}
    closed: list[AlarmEpisode] = []
    for e in sorted(entries, key=lambda e: e.ts):
        if e.type != "alert" or e.ts >= end:
            continue
        change = str(e.data.get("change", ""))
        rule_id = str(e.data.get("rule_id", ""))
        key = (e.equipment, rule_id, int(e.data.get("episode", 0)))
        if change in _STARTS and key not in opened:
            opened[key] = (e.ts, e.message.split(": ", 1)[0])
        elif change == "resolved" and key in opened:
            began, title = opened.pop(key)
            severity = severities.get((rule_id, e.equipment), "")
            closed.append(AlarmEpisode(*key, title, severity, began, e.ts))
    still = [
        AlarmEpisode(*key, title, severities.get((key[1], key[0]), ""), began, None)
        for key, (began, title) in opened.items()
    ]
    found = [
        a
        for a in [*closed, *still]
        if a.started_at < end and (a.ended_at is None or a.ended_at > start)
    ]
    return sorted(found, key=lambda a: (a.started_at, a.equipment, a.rule_id))


def read_episodes(conn: Connection, start: datetime, end: datetime) -> list[AlarmEpisode]:
    """Alarm episodes overlapping [start, end), from the logbook."""
    query = LogQuery(start=start - LOOKBACK, end=end, types=("alert",))
    severities = {(a.rule_id, a.subject): a.severity for a in find_alerts(conn, ())}
    entries = (s.entry for s in read_all(conn, query, MAX_ENTRIES) if s.problem is None)
    return episodes(entries, start, end, severities)
