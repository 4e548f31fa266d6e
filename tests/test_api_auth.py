"""Keys and roles: 401 without a valid key, 403 when the role is too low, hashed at rest."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from api import ApiContext
from core.site import Site
from plantroom.cli import main
from storage import RecordsDB, SqliteTimeSeriesStore
from storage.api_keys import Role, api_keys, authenticate
from tests.api_support import LOOPBACK, REMOTE, auth, client_for, new_key

NOTE = {"message": "更换机械密封"}
NOTE_PATH = "/api/v1/equipment/pump-domestic-1/log"


@pytest.fixture
def context(site: Site, ts_store: SqliteTimeSeriesStore, records: RecordsDB) -> ApiContext:
    return ApiContext(site=site, store=ts_store, records=records)


async def test_reads_need_a_viewer_key(context: ApiContext, records: RecordsDB) -> None:
    async with client_for(context) as client:
        refused = await client.get("/api/v1/equipment")
        assert refused.status_code == 401
        assert "API key" in refused.json()["error"]
        assert refused.headers["www-authenticate"] == "Bearer"
        forged = await client.get("/api/v1/equipment", headers=auth("pr_00000000_" + "x" * 43))
        assert forged.status_code == 401
        viewer = new_key(records, Role.VIEWER)
        assert (await client.get("/api/v1/equipment", headers=auth(viewer))).status_code == 200
        by_header = await client.get("/api/v1/equipment", headers={"X-API-Key": viewer})
        assert by_header.status_code == 200
        # liveness stays open for probes
        assert (await client.get("/api/v1/health")).status_code == 200


async def test_open_reads_only_from_loopback_and_never_writes(context: ApiContext) -> None:
    async with client_for(context, open_reads=True, peer=LOOPBACK) as local:
        assert (await local.get("/api/v1/equipment")).status_code == 200
        assert (await local.post(NOTE_PATH, json=NOTE)).status_code == 401
    async with client_for(context, open_reads=True, peer=REMOTE) as remote:
        assert (await remote.get("/api/v1/equipment")).status_code == 401


async def test_role_checks(context: ApiContext, records: RecordsDB) -> None:
    viewer, engineer = new_key(records, Role.VIEWER), new_key(records, Role.ENGINEER, "张工")
    async with client_for(context) as client:
        assert (await client.post(NOTE_PATH, json=NOTE)).status_code == 401
        refused = await client.post(NOTE_PATH, json=NOTE, headers=auth(viewer))
        assert refused.status_code == 403
        assert "engineer" in refused.json()["error"]
        written = await client.post(NOTE_PATH, json=NOTE, headers=auth(engineer))
        assert written.status_code == 201
        assert written.json()["actor"].startswith("张工 (key ")
        # keys are an admin's business
        assert (await client.get("/api/v1/keys", headers=auth(engineer))).status_code == 403


async def test_admin_manages_keys(context: ApiContext, records: RecordsDB) -> None:
    admin = auth(new_key(records, Role.ADMIN))
    async with client_for(context) as client:
        made = await client.post(
            "/api/v1/keys", json={"role": "viewer", "name": "大屏"}, headers=admin
        )
        assert made.status_code == 201
        fresh = auth(made.json()["key"])
        assert (await client.get("/api/v1/equipment", headers=fresh)).status_code == 200
        listed = (await client.get("/api/v1/keys", headers=admin)).json()
        assert "大屏" in {k["name"] for k in listed}
        assert all("key" not in k for k in listed)
        revoked = await client.post(f"/api/v1/keys/{made.json()['id']}/revoke", headers=admin)
        assert revoked.json()["revoked_at"] is not None
        assert (await client.get("/api/v1/equipment", headers=fresh)).status_code == 401
        assert (await client.post("/api/v1/keys/nope/revoke", headers=admin)).status_code == 404


def test_keys_are_hashed_at_rest(records: RecordsDB) -> None:
    clear = new_key(records, Role.ADMIN)
    with records.engine.connect() as conn:
        stored = [str(value) for row in conn.execute(sa.select(api_keys)) for value in row]
    secret = clear.rsplit("_", 1)[1]
    assert stored and not any(secret in value for value in stored)


def test_cli_creates_lists_and_revokes_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'records.db'}"
    monkeypatch.setenv("PLANTROOM_DB_URL", url)
    assert main(["keys", "create", "--role", "engineer", "--name", "值班工程师"]) == 0
    clear = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("pr_"))
    key_id = clear.split("_")[1]
    assert main(["keys", "list"]) == 0
    listing = capsys.readouterr().out
    assert "值班工程师" in listing and key_id in listing and clear not in listing
    assert main(["keys", "revoke", key_id]) == 0
    assert main(["keys", "revoke", "deadbeef"]) == 1
    db = RecordsDB(url)
    try:
        with db.engine.connect() as conn:
            assert authenticate(conn, clear) is None
    finally:
        db.close()
