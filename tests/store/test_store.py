"""The store on SQLite and on PostgreSQL: migrations, keys, executions, cache lookups."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest
from asgi_lifespan import LifespanManager

from api import create_app
from service import ApiKeyService, Unauthorized
from store import Database, ExecutionRow, migrate
from store import executions as stored
from tests.conftest import KEY_A, POSTGRES_URL, node_settings


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throw-away schema in the test database, dropped afterwards."""
    schema = "faas_test_" + secrets.token_hex(4)
    try:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
            connection.execute(f"CREATE SCHEMA {schema}")
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_URL}: {exc}")
    yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    url = (
        f"sqlite:///{tmp_path / 'db.sqlite3'}" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    )
    migrate(url)
    migrate(url)  # idempotent
    db = Database(url)
    yield db
    await db.close()


def execution(tenant: str, **fields: object) -> ExecutionRow:
    values: dict[str, object] = dict(
        id="exec_" + secrets.token_hex(12),
        tenant_id=tenant,
        language="python",
        mode="cached",
        status="completed",
        exit_code=0,
        stdout="out \ufffd",
        stderr="",
        truncated=False,
        oom_killed=False,
        duration_ms=5,
        cached=False,
        cache_key="k" * 64,
        cached_from=None,
        build_cached=False,
        cpu_seconds=0.1,
        memory_peak_bytes=5 * 1024**3,
        memory_gb_seconds=0.2,
        cost_compute=0.1,
        cost_total=0.1,
        error=None,
        image_id="sha256:x",
        code_sha256="c" * 64,
        resources={"cpu_cores": 1.0, "memory_mb": 512, "timeout_ms": 1000},
        created_at=datetime.now(UTC),
        finished_at=datetime.now(UTC),
    )
    values.update(fields)
    return ExecutionRow(**values)


async def test_keys_are_stored_hashed_and_each_bootstrap_key_is_a_tenant(database: Database) -> None:
    keys = ApiKeyService(database)
    await keys.bootstrap(["alpha-key", "beta-key"])
    await keys.bootstrap(["alpha-key"])  # idempotent
    alpha, beta = await keys.authenticate("alpha-key"), await keys.authenticate("beta-key")
    assert alpha.tenant_id != beta.tenant_id
    assert await keys.create_first_key_if_none() is None
    async with database.engine.connect() as connection:
        dump = str((await connection.exec_driver_sql("SELECT * FROM api_keys")).fetchall())
    assert "alpha-key" not in dump and "beta-key" not in dump
    with pytest.raises(Unauthorized):
        await keys.authenticate("gamma-key")


async def test_executions_round_trip_with_aware_times_and_tenant_scoping(database: Database) -> None:
    keys = ApiKeyService(database)
    await keys.bootstrap(["one", "two"])
    one, two = (await keys.authenticate("one")).tenant_id, (await keys.authenticate("two")).tenant_id
    row = execution(one)
    async with database.session() as session, session.begin():
        session.add(row)
    async with database.session() as session:
        loaded = await stored.get_execution(session, one, row.id)
        assert loaded is not None
        assert loaded.created_at.tzinfo is not None and loaded.memory_peak_bytes == 5 * 1024**3
        assert loaded.stdout == "out \ufffd"
        assert await stored.get_execution(session, two, row.id) is None


async def test_cache_lookup_takes_the_newest_original_of_the_same_tenant(database: Database) -> None:
    keys = ApiKeyService(database)
    await keys.bootstrap(["one", "two"])
    one, two = (await keys.authenticate("one")).tenant_id, (await keys.authenticate("two")).tenant_id
    old = execution(one, created_at=datetime.now(UTC) - timedelta(minutes=5))
    new = execution(one)
    hit = execution(one, cached=True, created_at=datetime.now(UTC) + timedelta(minutes=1))
    timed_out = execution(one, status="timeout", created_at=datetime.now(UTC) + timedelta(minutes=2))
    async with database.session() as session, session.begin():
        session.add_all([old, new, hit, timed_out])
    async with database.session() as session:
        found = await stored.find_cached_result(session, one, "k" * 64)
        assert found is not None and found.id == new.id
        assert await stored.find_cached_result(session, two, "k" * 64) is None


async def test_a_node_serves_executions_on_postgresql(postgres_url: str, tmp_path: Path, require_docker: None) -> None:
    settings = node_settings(tmp_path, database_url=postgres_url, pool_sizes={"python": 1})
    app = create_app(settings)
    async with (
        LifespanManager(app, startup_timeout=120, shutdown_timeout=60),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://node", headers={"X-API-Key": KEY_A}
        ) as client,
    ):
        response = await client.post("/api/v1/execute", json={"code": "print('\\x00pg')", "language": "python"})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["stdout"] == "\ufffdpg\n"  # NUL cannot live in PostgreSQL text; it is replaced
        again = await client.get(f"/api/v1/executions/{body['execution_id']}")
        assert again.json() == body
