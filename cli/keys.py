"""``faas keys``: create, list and revoke API keys in the node's database."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console

from service import ApiKeyService, KeyInfo, KeyOptions, ServiceError, Settings
from store import Database, migrate

T = TypeVar("T")

keys_app = typer.Typer(help="Manage API keys and tenants.", no_args_is_help=True, add_completion=False)
errors = Console(stderr=True)

DataDir = Annotated[
    Path | None, typer.Option(help="Where the node keeps its database [env FAAS_DATA_DIR; FAAS_DATABASE_URL wins]")
]


def _with_keys(data_dir: Path | None, action: Callable[[ApiKeyService], Awaitable[T]]) -> T:
    """Run ``action`` on the node's database (migrated first), the way ``faas serve`` finds it."""
    settings = Settings() if data_dir is None else Settings(data_dir=data_dir)
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate(settings.resolved_database_url)

    async def run() -> T:
        database = Database(settings.resolved_database_url)
        try:
            return await action(ApiKeyService(database, default_credits=settings.default_credits))
        finally:
            await database.close()

    try:
        return asyncio.run(run())
    except ServiceError as exc:
        errors.print(f"[red]error:[/red] {exc.message}", highlight=False)
        raise typer.Exit(1) from exc


def _scopes(text: str) -> list[str]:
    return [scope.strip() for scope in text.split(",") if scope.strip()]


@keys_app.command("create")
def create(
    name: Annotated[str, typer.Option(help="What the key is for")],
    credits: Annotated[
        float | None, typer.Option(help="Credits of the new tenant [default: FAAS_DEFAULT_CREDITS]")
    ] = None,
    scopes: Annotated[str, typer.Option(help="Comma-separated: execute, read")] = "execute,read",
    rpm: Annotated[int | None, typer.Option(help="Requests per minute for this key [default: node's]")] = None,
    rph: Annotated[int | None, typer.Option(help="Requests per hour for this key [default: node's]")] = None,
    concurrency: Annotated[
        int | None, typer.Option(help="Concurrent executions for this key [default: node's]")
    ] = None,
    tenant: Annotated[str | None, typer.Option(help="Add the key to this existing tenant instead of a new one")] = None,
    data_dir: DataDir = None,
) -> None:
    """Create a key; it is printed once and only its hash is stored."""
    options = KeyOptions(scopes=_scopes(scopes))
    if credits is not None:
        if tenant is not None:
            errors.print("[red]error:[/red] --credits applies to a new tenant, not with --tenant", highlight=False)
            raise typer.Exit(2)
        options["credits"] = credits
    if tenant is not None:
        options["tenant_id"] = tenant
    if rpm is not None:
        options["requests_per_minute"] = rpm
    if rph is not None:
        options["requests_per_hour"] = rph
    if concurrency is not None:
        options["max_concurrent_executions"] = concurrency
    created = _with_keys(data_dir, lambda keys: keys.create_key(name, **options))
    typer.echo(f"key_id: {created.key_id}\ntenant_id: {created.tenant_id}\nkey: {created.key}")
    errors.print("Store the key now: it is shown only this once.", highlight=False)


def _row(info: KeyInfo) -> dict[str, object]:
    return {
        "key_id": info.key_id,
        "name": info.name,
        "tenant_id": info.tenant_id,
        "scopes": list(info.scopes),
        "prefix": info.prefix,
        "credits": info.credits,
        "created_at": info.created_at.isoformat(),
        "revoked_at": info.revoked_at.isoformat() if info.revoked_at else None,
        "requests_per_minute": info.requests_per_minute,
        "requests_per_hour": info.requests_per_hour,
        "max_concurrent_executions": info.max_concurrent_executions,
    }


@keys_app.command("list")
def list_keys(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array instead of a table")] = False,
    data_dir: DataDir = None,
) -> None:
    """Every key with its tenant, scopes, prefix, the tenant's credits, and dates (never the key)."""
    infos = _with_keys(data_dir, lambda keys: keys.list_keys())
    if as_json:
        typer.echo(json.dumps([_row(info) for info in infos], indent=2))
        return
    header = ("ID", "NAME", "TENANT", "SCOPES", "PREFIX", "CREDITS", "CREATED", "REVOKED")
    rows = [
        (
            info.key_id,
            info.name,
            info.tenant_id,
            ",".join(info.scopes),
            info.prefix or "-",
            f"{info.credits:.6f}",
            info.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            info.revoked_at.strftime("%Y-%m-%d %H:%M:%S") if info.revoked_at else "-",
        )
        for info in infos
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


@keys_app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (see `faas keys list`)")], data_dir: DataDir = None
) -> None:
    """Revoke a key: the API refuses it within one second on every node."""
    _with_keys(data_dir, lambda keys: keys.revoke(key_id))
    typer.echo(f"revoked {key_id}")
