"""Migration 0002 (credits, ledger, per-key limits) and the billing queries, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, inspect, text

from service import ApiKeyService, BillingService, NotFound, PaymentRequired
from store import Database
from store import billing as stored_billing
from store import usage as stored_usage
from store.database import MIGRATIONS, driver_urls
from tests.store.test_store import database, execution, postgres_url

__all__ = ["database", "postgres_url"]  # fixtures shared with test_store.py


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", driver_urls(url)[1].replace("%", "%%"))
    return config


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migration_0002_gives_existing_tenants_an_explained_opening_balance(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}" if backend == "sqlite" else request.getfixturevalue("postgres_url")
    config = alembic_config(url)
    command.upgrade(config, "0001")
    engine = create_engine(driver_urls(url)[1])
    try:
        with engine.begin() as connection:
            connection.execute(
                text("INSERT INTO tenants (id, name, created_at) VALUES ('tenant_old', 'old', :now)"),
                {"now": datetime.now(UTC)},
            )
        command.upgrade(config, "head")
        with engine.connect() as connection:
            assert connection.execute(text("SELECT credits FROM tenants")).scalar_one() == 100.0
            ledger = connection.execute(text("SELECT tenant_id, reason, amount, balance_after FROM credit_ledger"))
            assert ledger.all() == [("tenant_old", "opening balance", 100.0, 100.0)]
        columns = {column["name"] for column in inspect(engine).get_columns("api_keys")}
        assert {"requests_per_minute", "requests_per_hour", "max_concurrent_executions"} <= columns
        command.downgrade(config, "0001")
        assert "credit_ledger" not in inspect(engine).get_table_names()
        assert "credits" not in {column["name"] for column in inspect(engine).get_columns("tenants")}
        command.upgrade(config, "head")
    finally:
        engine.dispose()


async def test_keys_share_a_tenant_carry_limits_and_revocation_is_immediate(database: Database) -> None:
    keys = ApiKeyService(database, default_credits=7.5)
    first = await keys.create_key("first", requests_per_minute=5, requests_per_hour=50, max_concurrent_executions=2)
    second = await keys.create_key("second", tenant_id=first.tenant_id, scopes=["read"])
    principal = await keys.authenticate(first.key)
    assert (principal.requests_per_minute, principal.requests_per_hour, principal.max_concurrent_executions) == (
        5,
        50,
        2,
    )
    reader = await keys.authenticate(second.key)
    assert reader.tenant_id == first.tenant_id and reader.scopes == ("read",)
    assert reader.requests_per_minute is None
    assert await BillingService(database).balance(first.tenant_id) == 7.5
    listed = {info.key_id: info for info in await keys.list_keys()}
    assert listed[first.key_id].prefix == first.key[:9] and listed[first.key_id].credits == 7.5
    await keys.revoke(first.key_id)
    await keys.revoke(first.key_id)  # idempotent
    with pytest.raises(Exception, match="revoked"):
        await keys.authenticate(first.key)
    assert (await keys.authenticate(second.key)).key_id == second.key_id
    with pytest.raises(NotFound):
        await keys.revoke("key_missing")
    with pytest.raises(NotFound):
        await keys.create_key("orphan", tenant_id="tenant_missing")


async def test_charges_debit_the_balance_and_are_in_the_ledger(database: Database) -> None:
    keys = ApiKeyService(database)
    tenant = (await keys.create_key("payer", credits=1.0)).tenant_id
    billing = BillingService(database)
    await billing.ensure_can_pay(tenant)
    rows = [execution(tenant, cost_total=0.25), execution(tenant, cost_total=0.75)]
    for row in rows:
        async with database.session() as session, session.begin():
            session.add(row)
            await billing.charge_execution(session, tenant, row.id, row.cost_total)
    assert await billing.balance(tenant) == 0.0
    with pytest.raises(PaymentRequired):
        await billing.ensure_can_pay(tenant)
    async with database.session() as session:
        ledger = await stored_billing.ledger(session, tenant)
    assert [(entry.reason, entry.amount, entry.balance_after) for entry in ledger] == [
        ("opening balance", 1.0, 1.0),
        ("execution", -0.25, 0.75),
        ("execution", -0.75, 0.0),
    ]
    assert [entry.execution_id for entry in ledger[1:]] == [row.id for row in rows]


async def test_usage_totals_are_aggregated_per_tenant_and_period(database: Database) -> None:
    keys = ApiKeyService(database)
    one, two = (await keys.create_key("one")).tenant_id, (await keys.create_key("two")).tenant_id
    now = datetime.now(UTC)
    rows = [
        execution(one, mode="ephemeral", status="completed", cpu_seconds=1.0, cost_total=0.5, cost_compute=0.5),
        execution(one, mode="cached", status="failed", cpu_seconds=2.0, cost_total=0.25, cost_compute=0.25),
        execution(one, mode="ephemeral", status="timeout", cpu_seconds=0.5, cost_total=0.125, cost_compute=0.125),
        execution(one, created_at=now - timedelta(days=40)),
        execution(two),
    ]
    async with database.session() as session, session.begin():
        session.add_all(rows)
    async with database.session() as session:
        totals = await stored_usage.execution_totals(session, one, now - timedelta(days=1), now + timedelta(days=1))
        empty = await stored_usage.execution_totals(session, one, now + timedelta(days=1), now + timedelta(days=2))
    assert (totals.total_count, totals.successful_count, totals.failed_count) == (3, 1, 2)
    assert totals.cpu_seconds == 3.5 and totals.total_cost == 0.875 and totals.memory_gb_seconds == pytest.approx(0.6)
    assert totals.by_mode == {"ephemeral": 2, "cached": 1}
    assert (empty.total_count, empty.cpu_seconds, empty.by_mode) == (0, 0.0, {})
