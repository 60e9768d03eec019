"""Persistence: SQLAlchemy 2 models, Alembic migrations, small query modules."""

from store import api_keys, executions
from store.database import Database, migrate, sqlite_url
from store.models import ApiKeyRow, ExecutionRow, TenantRow

__all__ = ["ApiKeyRow", "Database", "ExecutionRow", "TenantRow", "api_keys", "executions", "migrate", "sqlite_url"]
