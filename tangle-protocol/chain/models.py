"""What the chain layer returns: plain frozen dataclasses, and their reading from substrate-interface values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scalecodec.utils.ss58 import ss58_encode

from blueprint import FieldValue, JobResult
from chain._errors import ChainDataError
from chain.keys import SS58_FORMAT


@dataclass(frozen=True)
class JobCallEvent:
    """A finalized ``Services.JobCalled`` event.

    ``args_scale`` are the exact SCALE bytes of the call's ``Vec<Field>`` (what receipts hash), read from
    ``Services.JobCalls`` storage at ``block_hash``; ``args_field_values`` is their decoding with
    ``blueprint.decode_fields`` (strings as ``bytes``, never guessed as hex).
    """

    block_number: int
    block_hash: str
    service_id: int
    call_id: int
    job: int
    caller: str
    args_field_values: list[FieldValue]
    args_scale: bytes


@dataclass(frozen=True)
class JobResultEvent:
    """A ``Services.JobResultSubmitted`` event: who answered, in which block, with what."""

    block_number: int
    block_hash: str
    service_id: int
    call_id: int
    job: int
    operator: str
    result: JobResult


@dataclass(frozen=True)
class JobCallRecord:
    """``Services.JobCalls(service_id, call_id)``: the job index and the exact SCALE bytes of its args."""

    service_id: int
    call_id: int
    job: int
    args_scale: bytes
    args_field_values: list[FieldValue]


@dataclass(frozen=True)
class OperatorPreferences:
    """``Services.Operators(blueprint_id, account)``: the operator's role key and REST address."""

    key: bytes
    rpc_address: str


@dataclass(frozen=True)
class ServiceInstance:
    """``Services.Instances(service_id)``, trimmed to what callers need."""

    id: int
    blueprint: int
    owner: str
    operators: tuple[str, ...]
    permitted_callers: tuple[str, ...]
    ttl: int

    def may_call(self, account: str) -> bool:
        """Whether ``account`` may call jobs of this service (the owner, or a permitted caller; none = anyone)."""
        return not self.permitted_callers or account in self.permitted_callers or account == self.owner


def account(value: Any) -> str:
    """An ``AccountId32`` as substrate-interface returns it (ss58 or 0x-hex) as an ss58 address."""
    if isinstance(value, str) and value.startswith("0x"):
        return str(ss58_encode(value, ss58_format=SS58_FORMAT))
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray) and len(value) == 32:
        return str(ss58_encode(bytes(value), ss58_format=SS58_FORMAT))
    raise ChainDataError(f"not an account id: {value!r:.80}")


def hex_bytes(value: Any, size: int | None = None) -> bytes:
    """Bytes from a ``0x``-hex string, a byte list or bytes; checks the size when given."""
    if isinstance(value, str) and value.startswith("0x"):
        raw = bytes.fromhex(value[2:])
    elif isinstance(value, bytes | bytearray | list | tuple):
        raw = bytes(value)
    else:
        raise ChainDataError(f"not bytes: {value!r:.80}")
    if size is not None and len(raw) != size:
        raise ChainDataError(f"expected {size} bytes, got {len(raw)}")
    return raw


def text(value: Any) -> str:
    """A ``Bytes`` value as text (substrate-interface gives text, or 0x-hex for non-UTF-8)."""
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode(errors="replace")
    if isinstance(value, str):
        return value
    raise ChainDataError(f"not text: {value!r:.80}")


def service_instance(value: dict[str, Any]) -> ServiceInstance:
    """A ``ServiceInstance`` from the decoded ``Service`` struct."""
    try:
        commitments = value.get("operator_security_commitments") or []
        return ServiceInstance(
            id=int(value["id"]),
            blueprint=int(value["blueprint"]),
            owner=account(value["owner"]),
            operators=tuple(account(entry[0]) for entry in commitments),
            permitted_callers=tuple(account(caller) for caller in value.get("permitted_callers") or []),
            ttl=int(value.get("ttl") or 0),
        )
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ChainDataError(f"unexpected Service value: {exc!r}") from exc


def operator_preferences(value: dict[str, Any]) -> OperatorPreferences:
    """``OperatorPreferences`` from the decoded struct (the key must be 65 bytes)."""
    try:
        return OperatorPreferences(key=hex_bytes(value["key"], 65), rpc_address=text(value["rpc_address"]))
    except (KeyError, TypeError) as exc:
        raise ChainDataError(f"unexpected OperatorPreferences value: {exc!r}") from exc
