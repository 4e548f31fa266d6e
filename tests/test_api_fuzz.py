"""Property-based run of the whole API from its OpenAPI schema (schemathesis): no 5xx, ever.

In-process over ASGI, against the real app on a real SQLite store with a little data in it.
Valid and invalid inputs (schemathesis' positive and negative modes) are sent with an admin
key, so write routes are exercised too; ``/stream`` never ends and is tested on its own.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from api import ApiContext, create_app
from core.clock import FakeClock
from core.readings import Reading
from core.site import Site
from core.tickets import Due
from storage import RecordsDB, SqliteTimeSeriesStore, logbook
from storage.api_keys import Role
from storage.ticket_desk import open_manual_ticket
from tests.api_support import auth, new_key

NOW = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
EXAMPLES_PER_OPERATION = 30
UNBOUNDED = {"/api/v1/stream"}


def test_no_server_errors_anywhere(
    site: Site, ts_store: SqliteTimeSeriesStore, records: RecordsDB
) -> None:
    ts_store.write(
        [
            Reading("pump-domestic-1", "running", NOW - timedelta(minutes=m), m % 2)
            for m in range(30)
        ]
    )
    with records.engine.begin() as conn:
        logbook.append(conn, logbook.LogEntry(NOW, "pump-domestic-1", "note", "巡检正常"))
        open_manual_ticket(
            conn, "lift-b1-1", "general", "异响", "major", Due(NOW, None, None), "前台", NOW
        )
    app = create_app(ApiContext(site=site, store=ts_store, records=records, clock=FakeClock(NOW)))
    headers = auth(new_key(records, Role.ADMIN))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    # random ids only ever find 404s: half the cases name a real machine or ticket instead
    real = st.fixed_dictionaries(
        {"equipment_id": st.sampled_from([eq.id for eq in site.equipment]), "ticket_id": st.just(1)}
    )
    machines = st.one_of(st.none(), real)
    tested: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in UNBOUNDED:
            continue
        cases = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        )

        @given(case=cases, machine=machines)
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def no_5xx(case: schemathesis.Case, machine: dict[str, object] | None) -> None:
            params = case.path_parameters or {}
            if machine is not None:
                case.path_parameters = {
                    **params,
                    **{k: v for k, v in machine.items() if k in params},
                }
            response = case.call(headers=headers)
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path} query={case.query} body={case.body!r}: "
                f"{response.status_code} {response.text[:500]}"
            )

        no_5xx()
        tested.append(f"{operation.method.upper()} {operation.path}")
    assert len(tested) >= 10, tested
