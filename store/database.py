"""Database connection and schema migrations (SQLite by default, PostgreSQL by URL)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine.url import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def driver_urls(url: str) -> tuple[str, str]:
    """(async URL, sync URL) for a user-given database URL."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return (
            parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False),
            parsed.set(drivername="sqlite").render_as_string(hide_password=False),
        )
    if backend == "postgresql":
        psycopg = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        return psycopg, psycopg
    raise ValueError(f"unsupported database URL {parsed.render_as_string()!r}: use sqlite:// or postgresql://")


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'faas.sqlite3'}"


def migrate(url: str) -> None:
    """Bring the schema to the latest revision (idempotent)."""
    _, sync_url = driver_urls(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", sync_url.replace("%", "%%"))
    command.upgrade(config, "head")


def _tune_sqlite(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


class Database:
    """Async engine and session factory."""

    def __init__(self, url: str) -> None:
        async_url, _ = driver_urls(url)
        self.url = url
        local_file = async_url.startswith("sqlite")
        options: dict[str, object] = {"pool_pre_ping": True}
        if local_file:
            # Each call into aiosqlite is a thread hop (~0.5 ms here). A local file never drops a
            # connection, so no pre-ping; sessions and connections already roll back when they close
            # (SQLAlchemy 2), so the pool's extra rollback on return is skipped too.
            options = {"pool_pre_ping": False, "pool_reset_on_return": None}
        self.engine: AsyncEngine = create_async_engine(async_url, **options)
        if local_file:
            event.listen(self.engine.sync_engine, "connect", _tune_sqlite)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    def session(self) -> AsyncSession:
        return self.sessions()

    async def close(self) -> None:
        await self.engine.dispose()
