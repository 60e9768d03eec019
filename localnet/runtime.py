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
INHERENT_WEIGHT = {"ref_time": 10_000_000, "proof_size": 0}
_DISPATCH: dict[str, Callable[[Ctx, str, dict[str, Any]], None]] = {
    "System": system.dispatch,
    "Timestamp": timestamp.dispatch,
    "Balances": balances.dispatch,
    "Services": services.dispatch,
}

BlockHashLookup = Callable[[int], bytes | None]


def length_fee(length: int) -> int:
    """``LengthToFee``: what an encoded extrinsic of ``length`` bytes pays for its size."""
    return FEE_PER_BYTE * length


def weight_fee(weight: dict[str, int]) -> int:
    """``WeightToFee``: the localnet's fee has no weight-dependent part (its weights are length-based anyway)."""
    return 0


def weight_of(length: int) -> dict[str, int]:
    """Dispatch weight of a signed extrinsic of ``length`` encoded bytes."""
    return {"ref_time": 100_000_000 + 1_000 * length, "proof_size": 0}


def inclusion_fee(length: int) -> dict[str, int]:
    """``pallet_transaction_payment::InclusionFee`` of an extrinsic of ``length`` bytes."""
    return {"base_fee": FEE_BASE, "len_fee": length_fee(length), "adjusted_weight_fee": weight_fee(weight_of(length))}


def fee_of(length: int, tip: int) -> int:
    """Total fee of a signed extrinsic: the inclusion fee plus the tip."""
    return sum(inclusion_fee(length).values()) + tip


def fee_for(xt: Extrinsic) -> int:
    return fee_of(len(xt.raw), xt.tip)


def weight_for(xt: Extrinsic) -> dict[str, int]:
    return weight_of(len(xt.raw))


def priority_for(xt: Extrinsic) -> int:
    """Pool priority of a valid transaction: its tip (every dispatch here is ``Normal`` class)."""
    return xt.tip


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
        info = {"weight": INHERENT_WEIGHT, "class": "Mandatory", "pays_fee": "No"}
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
