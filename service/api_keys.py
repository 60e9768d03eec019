"""API keys: hashed at rest, each bootstrap key its own tenant."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from service.errors import Unauthorized
from store import Database
from store import api_keys as stored

ALL_SCOPES = ["execute", "read"]
CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class Principal:
    """Who is calling: the tenant and the key it used."""

    tenant_id: str
    key_id: str
    scopes: tuple[str, ...]


def hash_key(key: str) -> str:
    """Keys are 256-bit random strings, so one SHA-256 is the right hash (no salt, no stretching)."""
    return hashlib.sha256(key.encode()).hexdigest()


def display_prefix(key: str) -> str:
    """A few leading characters to recognise a long key by; short keys reveal nothing."""
    return key[:9] if len(key) >= 32 else ""


def generate_key() -> str:
    return "faas_" + secrets.token_urlsafe(32)


class ApiKeyService:
    """Creates and checks API keys."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._recent: dict[str, tuple[float, Principal]] = {}

    async def bootstrap(self, keys: list[str]) -> None:
        """Make sure each given key exists (each becomes its own tenant); idempotent."""
        for key in keys:
            await self._insert_if_missing(key, name="bootstrap key")

    async def create_first_key_if_none(self) -> str | None:
        """A fresh node with no keys gets one; returns it in clear exactly once."""
        async with self.database.session() as session:
            if await stored.count_active_keys(session) > 0:
                return None
        key = generate_key()
        await self._insert_if_missing(key, name="generated at first start")
        return key

    async def authenticate(self, key: str | None) -> Principal:
        if not key:
            raise Unauthorized("missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'")
        digest = hash_key(key)
        cached = self._recent.get(digest)
        if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        async with self.database.session() as session:
            row = await stored.find_active_key(session, digest)
        if row is None:
            raise Unauthorized("invalid or revoked API key")
        principal = Principal(tenant_id=row.tenant_id, key_id=row.id, scopes=tuple(row.scopes))
        self._recent[digest] = (time.monotonic(), principal)
        return principal

    async def _insert_if_missing(self, key: str, *, name: str) -> None:
        digest = hash_key(key)
        try:
            async with self.database.session() as session, session.begin():
                if await stored.find_active_key(session, digest) is not None:
                    return
                await stored.add_tenant_with_key(
                    session,
                    tenant_id="tenant_" + secrets.token_hex(8),
                    key_id="key_" + secrets.token_hex(8),
                    name=name,
                    key_hash=digest,
                    prefix=display_prefix(key),
                    scopes=list(ALL_SCOPES),
                )
        except IntegrityError:
            return  # another process inserted the same key at the same moment
