"""API keys: hashed at rest, each belonging to a tenant that holds the credits.

A verified key is remembered for ``AUTH_CACHE_SECONDS`` (1 s) so that a burst of requests
does not look it up each time (a lookup is a database round trip, the largest part of a
cached hit's latency). A key revoked in this process is forgotten at once; one revoked by
``faas keys revoke`` (another process) is refused by every API process within that second.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TypedDict, Unpack

from sqlalchemy.exc import IntegrityError

from service.errors import InvalidRequest, NotFound, Unauthorized
from store import Database
from store import api_keys as stored

ALL_SCOPES = ["execute", "read"]
AUTH_CACHE_SECONDS = 1.0
AUTH_CACHE_ENTRIES = 10_000


@dataclass(frozen=True)
class Principal:
    """Who is calling: the tenant, the key it used, and that key's rate-limit overrides (None: node default)."""

    tenant_id: str
    key_id: str
    scopes: tuple[str, ...]
    requests_per_minute: int | None = None
    requests_per_hour: int | None = None
    max_concurrent_executions: int | None = None
    credits: float | None = None
    """The tenant's balance when the key was checked (saves the request path a second read)."""


class KeyOptions(TypedDict, total=False):
    """Options of a new key; a key without ``tenant_id`` gets a new tenant with ``credits``."""

    scopes: list[str]
    credits: float
    tenant_id: str
    requests_per_minute: int
    requests_per_hour: int
    max_concurrent_executions: int


@dataclass(frozen=True)
class CreatedKey:
    key: str
    """The key in clear: shown once, never stored."""
    key_id: str
    tenant_id: str


@dataclass(frozen=True)
class KeyInfo:
    """What can be shown about a key (never the key itself)."""

    key_id: str
    name: str
    tenant_id: str
    scopes: tuple[str, ...]
    prefix: str
    credits: float
    created_at: datetime
    revoked_at: datetime | None
    requests_per_minute: int | None
    requests_per_hour: int | None
    max_concurrent_executions: int | None


def hash_key(key: str) -> str:
    """Keys are 256-bit random strings, so one SHA-256 is the right hash (no salt, no stretching)."""
    return hashlib.sha256(key.encode()).hexdigest()


def display_prefix(key: str) -> str:
    """A few leading characters to recognise a long key by; short keys reveal nothing."""
    return key[:9] if len(key) >= 32 else ""


def generate_key() -> str:
    return "faas_" + secrets.token_urlsafe(32)


def check_key_options(options: KeyOptions) -> None:
    """Raises InvalidRequest for unknown or no scopes, negative credits or non-positive limits."""
    scopes = options.get("scopes", ALL_SCOPES)
    unknown = sorted(set(scopes) - set(ALL_SCOPES))
    if unknown or not scopes:
        raise InvalidRequest(f"scopes must be a non-empty subset of {', '.join(ALL_SCOPES)}; got {scopes}")
    if options.get("credits", 0.0) < 0:
        raise InvalidRequest("credits must not be negative")
    limits = {
        "requests_per_minute": options.get("requests_per_minute"),
        "requests_per_hour": options.get("requests_per_hour"),
        "max_concurrent_executions": options.get("max_concurrent_executions"),
    }
    for name, value in limits.items():
        if value is not None and value < 1:
            raise InvalidRequest(f"{name} must be at least 1")


class ApiKeyService:
    """Creates, lists, revokes and checks API keys."""

    def __init__(self, database: Database, *, default_credits: float = 100.0) -> None:
        self.database = database
        self.default_credits = default_credits
        self._verified: dict[str, tuple[float, Principal]] = {}

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

    async def create_key(self, name: str, **options: Unpack[KeyOptions]) -> CreatedKey:
        """A new random key, in a new tenant or (``tenant_id``) an existing one.

        Raises:
            InvalidRequest: bad scopes, credits or limits.
            NotFound: ``tenant_id`` names no tenant.
        """
        check_key_options(options)
        key = generate_key()
        new_key = stored.NewKey(
            key_id="key_" + secrets.token_hex(8),
            name=name,
            key_hash=hash_key(key),
            prefix=display_prefix(key),
            scopes=list(options.get("scopes", ALL_SCOPES)),
            requests_per_minute=options.get("requests_per_minute"),
            requests_per_hour=options.get("requests_per_hour"),
            max_concurrent_executions=options.get("max_concurrent_executions"),
        )
        async with self.database.session() as session, session.begin():
            tenant_id = options.get("tenant_id")
            if tenant_id is None:
                tenant_id = "tenant_" + secrets.token_hex(8)
                credits = options.get("credits", self.default_credits)
                await stored.add_tenant(session, tenant_id=tenant_id, name=name, credits=credits)
            elif await stored.get_tenant(session, tenant_id) is None:
                raise NotFound(f"tenant {tenant_id!r} not found", details={"tenant_id": tenant_id})
            await stored.add_key(session, tenant_id, new_key)
        return CreatedKey(key=key, key_id=new_key.key_id, tenant_id=tenant_id)

    async def list_keys(self) -> list[KeyInfo]:
        async with self.database.session() as session:
            rows = await stored.list_keys(session)
        return [
            KeyInfo(
                key_id=row.id,
                name=row.name,
                tenant_id=row.tenant_id,
                scopes=tuple(row.scopes),
                prefix=row.prefix,
                credits=credits,
                created_at=row.created_at,
                revoked_at=row.revoked_at,
                requests_per_minute=row.requests_per_minute,
                requests_per_hour=row.requests_per_hour,
                max_concurrent_executions=row.max_concurrent_executions,
            )
            for row, credits in rows
        ]

    async def revoke(self, key_id: str) -> None:
        """Revoke a key for good (idempotent); every API process refuses it within one second.

        Raises:
            NotFound: no key has this id.
        """
        async with self.database.session() as session, session.begin():
            if not await stored.revoke_key(session, key_id):
                raise NotFound(f"API key {key_id!r} not found", details={"key_id": key_id})
        for digest in [d for d, (_, principal) in self._verified.items() if principal.key_id == key_id]:
            del self._verified[digest]

    async def authenticate(self, key: str | None) -> Principal:
        if not key:
            raise Unauthorized("missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'")
        digest = hash_key(key)
        remembered = self._verified.get(digest)
        if remembered is not None and time.monotonic() - remembered[0] < AUTH_CACHE_SECONDS:
            return remembered[1]
        async with self.database.session() as session:
            found = await stored.find_active_key_with_credits(session, digest)
        if found is None:
            raise Unauthorized("invalid or revoked API key")
        row, credits = found
        principal = Principal(
            tenant_id=row.tenant_id,
            key_id=row.id,
            scopes=tuple(row.scopes),
            requests_per_minute=row.requests_per_minute,
            requests_per_hour=row.requests_per_hour,
            max_concurrent_executions=row.max_concurrent_executions,
            credits=credits,
        )
        self._remember(digest, principal)
        return principal

    def _remember(self, digest: str, principal: Principal) -> None:
        if len(self._verified) >= AUTH_CACHE_ENTRIES:
            self._verified.clear()  # crude but bounded; entries live one second anyway
        self._verified[digest] = (time.monotonic(), principal)

    async def _insert_if_missing(self, key: str, *, name: str) -> None:
        digest = hash_key(key)
        try:
            async with self.database.session() as session, session.begin():
                if await stored.find_active_key_with_credits(session, digest) is not None:
                    return
                await stored.add_tenant_with_key(
                    session,
                    tenant_id="tenant_" + secrets.token_hex(8),
                    key_id="key_" + secrets.token_hex(8),
                    name=name,
                    key_hash=digest,
                    prefix=display_prefix(key),
                    scopes=list(ALL_SCOPES),
                    credits=self.default_credits,
                )
        except IntegrityError:
            return  # another process inserted the same key at the same moment
