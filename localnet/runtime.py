"""State transition: transaction validation, block initialisation and extrinsic application."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from localnet.extrinsics import (
    ANCIENT_BIRTH,
    BAD_PROOF,
    CALL_NOT_EXPECTED,
    PAYMENT,
    STALE,
    Extrinsic,
    compact,
    era_birth,
    inherent,
    invalid,
    signing_payload,
    verify_signature,
)
from localnet.metadata import PALLET_INDEX, SPEC_VERSION, TRANSACTION_VERSION
from localnet.pallets import Ctx, DispatchFailure, balances, services, system, timestamp
from localnet.storage import Overlay

FEE_BASE = 10**12
FEE_PER_BYTE = 10**9
_DISPATCH: dict[str, Callable[[Ctx, str, dict[str, Any]], None]] = {
    "System": system.dispatch,
    "Timestamp": timestamp.dispatch,
    "Balances": balances.dispatch,
    "Services": services.dispatch,
}

BlockHashLookup = Callable[[int], bytes | None]


def fee_for(xt: Extrinsic) -> int:
    """A deterministic length-based fee plus the tip."""
    return FEE_BASE + FEE_PER_BYTE * len(xt.raw) + xt.tip


def weight_for(xt: Extrinsic) -> dict[str, int]:
    return {"ref_time": 100_000_000 + 1_000 * len(xt.raw), "proof_size": 0}


def validate(state: Overlay, xt: Extrinsic, current: int, genesis: bytes, block_hash: BlockHashLookup) -> bool:
    """Check a signed extrinsic like ``validate_transaction`` at block ``current``.

    Returns True when it is ready now, False when its nonce is in the future; raises ``TransactionError``.
    """
    if xt.signer is None:
        raise invalid(CALL_NOT_EXPECTED)
    birth = era_birth(xt.era, current)
    birth_hash = genesis if xt.era == b"\x00" else block_hash(birth)
    if birth > current or birth_hash is None:
        raise invalid(ANCIENT_BIRTH)
    payload = signing_payload(xt, SPEC_VERSION, TRANSACTION_VERSION, genesis, birth_hash)
    if not verify_signature(xt, payload):
        raise invalid(BAD_PROOF)
    account_nonce = system.nonce(state, xt.signer)
    if xt.nonce < account_nonce:
        raise invalid(STALE)
    if balances.free(state, xt.signer) < fee_for(xt):
        raise invalid(PAYMENT)
    return xt.nonce == account_nonce


@dataclass
class BlockBuilder:
    """Applies extrinsics on top of a parent state; ``events`` is the block's ``System.Events`` value."""

    state: Overlay
    number: int
    events: list[Any] = field(default_factory=list)
    extrinsics: list[bytes] = field(default_factory=list)

    def initialize(self, parent_hash: bytes) -> None:
        self.state.write("System", "Number", self.number)
        self.state.write("System", "ParentHash", "0x" + parent_hash.hex())
        self.state.write("System", "BlockHash", self.number - 1, "0x" + parent_hash.hex())

    def _record(self, index: int, events: list[Any]) -> None:
        for event in events:
            self.events.append({"phase": {"ApplyExtrinsic": index}, "event": event, "topics": []})

    def apply_timestamp(self, now_ms: int) -> None:
        call = bytes([PALLET_INDEX["Timestamp"], 0]) + compact(now_ms)
        ctx = Ctx(self.state.child(), self.number, None)
        timestamp.dispatch(ctx, "set", {"now": now_ms})
        ctx.state.commit()
        raw = inherent(call)
        info = {"weight": {"ref_time": 10_000_000, "proof_size": 0}, "class": "Mandatory", "pays_fee": "No"}
        ctx.deposit("System", "ExtrinsicSuccess", {"dispatch_info": info})
        self._record(len(self.extrinsics), ctx.events)
        self.extrinsics.append(raw)

    def apply_signed(self, xt: Extrinsic) -> bool:
        """Apply an already validated extrinsic; False if it can't pay its fee (then it is not included)."""
        assert xt.signer is not None
        fee = fee_for(xt)
        pre = Ctx(self.state.child(), self.number, xt.signer)
        if not balances.withdraw_fee(pre.state, xt.signer, fee):
            return False
        system.inc_nonce(pre.state, xt.signer)
        pre.state.commit()
        pre.deposit("Balances", "Withdraw", {"who": xt.signer, "amount": fee})
        ctx = Ctx(self.state.child(), self.number, xt.signer)
        info = {"weight": weight_for(xt), "class": "Normal", "pays_fee": "Yes"}
        try:
            _DISPATCH[xt.module](ctx, xt.function, xt.args)
        except DispatchFailure as failure:
            events = [
                *pre.events,
                {"System": {"ExtrinsicFailed": {"dispatch_error": failure.value, "dispatch_info": info}}},
            ]
        else:
            ctx.state.commit()
            events = [*pre.events, *ctx.events, {"System": {"ExtrinsicSuccess": {"dispatch_info": info}}}]
        self._record(len(self.extrinsics), events)
        self.extrinsics.append(xt.raw)
        return True

    def finalize(self) -> None:
        self.state.write("System", "Events", self.events)
        self.state.write("System", "EventCount", len(self.events))
