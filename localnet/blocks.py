"""Blocks and headers: SCALE header encoding, hashing and the JSON shapes the RPC returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from substrateinterface.utils.hasher import blake2_256

from localnet.extrinsics import compact

ZERO_HASH = b"\x00" * 32
SLOT_DURATION_MS = 6000


@dataclass
class Block:
    """A sealed block; ``extrinsics`` are the encoded extrinsics as served by ``chain_getBlock``."""

    number: int
    parent_hash: bytes
    state_root: bytes
    extrinsics_root: bytes
    logs: list[bytes]
    extrinsics: list[bytes]

    def header_bytes(self) -> bytes:
        logs = compact(len(self.logs)) + b"".join(self.logs)
        return self.parent_hash + compact(self.number) + self.state_root + self.extrinsics_root + logs

    @property
    def hash(self) -> bytes:
        return bytes(blake2_256(self.header_bytes()))

    def header_json(self) -> dict[str, Any]:
        return {
            "parentHash": hex0x(self.parent_hash),
            "number": hex(self.number),
            "stateRoot": hex0x(self.state_root),
            "extrinsicsRoot": hex0x(self.extrinsics_root),
            "digest": {"logs": [hex0x(log) for log in self.logs]},
        }

    def block_json(self) -> dict[str, Any]:
        return {
            "block": {"header": self.header_json(), "extrinsics": [hex0x(x) for x in self.extrinsics]},
            "justifications": None,
        }

    def to_record(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "parent_hash": self.parent_hash.hex(),
            "state_root": self.state_root.hex(),
            "extrinsics_root": self.extrinsics_root.hex(),
            "logs": [log.hex() for log in self.logs],
            "extrinsics": [x.hex() for x in self.extrinsics],
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Block:
        return cls(
            number=int(record["number"]),
            parent_hash=bytes.fromhex(record["parent_hash"]),
            state_root=bytes.fromhex(record["state_root"]),
            extrinsics_root=bytes.fromhex(record["extrinsics_root"]),
            logs=[bytes.fromhex(x) for x in record["logs"]],
            extrinsics=[bytes.fromhex(x) for x in record["extrinsics"]],
        )


def hex0x(data: bytes) -> str:
    return "0x" + data.hex()


def extrinsics_root(extrinsics: list[bytes]) -> bytes:
    """Not a trie root: blake2_256 of the SCALE ``Vec`` of extrinsics."""
    return bytes(blake2_256(compact(len(extrinsics)) + b"".join(extrinsics)))


def aura_pre_digest(timestamp_ms: int) -> bytes:
    """``DigestItem::PreRuntime(*b"aura", slot.encode())`` like an Aura-sealed block."""
    slot = (timestamp_ms // SLOT_DURATION_MS).to_bytes(8, "little")
    return b"\x06" + b"aura" + compact(len(slot)) + slot
