"""Genesis state: endowed dev accounts and zeroed Services counters."""

from __future__ import annotations

from substrateinterface import Keypair

from localnet.blocks import ZERO_HASH, Block, extrinsics_root
from localnet.pallets import balances
from localnet.storage import Overlay, state_root

DEV_ACCOUNTS = ("Alice", "Bob", "Charlie", "Dave", "Eve", "Ferdie")
ENDOWMENT = 10**24
CHAIN_NAME = "Tangle Localnet"
PROPERTIES = {"ss58Format": 42, "tokenDecimals": 18, "tokenSymbol": "TNT"}


def dev_account(name: str) -> str:
    """Hex account id of the sr25519 dev account ``//name``."""
    return "0x" + bytes(Keypair.create_from_uri(f"//{name}").public_key).hex()


def genesis_state() -> dict[bytes, bytes]:
    state: dict[bytes, bytes] = {}
    overlay = Overlay(state)
    for name in DEV_ACCOUNTS:
        balances.endow(overlay, dev_account(name), ENDOWMENT)
    for item in ("NextBlueprintId", "NextServiceRequestId", "NextInstanceId", "NextJobCallId"):
        overlay.write("Services", item, 0)
    overlay.write("Timestamp", "Now", 0)
    overlay.write("System", "Number", 0)
    overlay.write("System", "ParentHash", "0x" + ZERO_HASH.hex())
    # Substrate stores this placeholder for block 0 until block 1 records the real genesis hash.
    overlay.write("System", "BlockHash", 0, "0x" + "69" * 32)
    overlay.write("System", "Events", [])
    overlay.commit()
    return state


def genesis_block(state: dict[bytes, bytes]) -> Block:
    return Block(
        number=0,
        parent_hash=ZERO_HASH,
        state_root=state_root(state),
        extrinsics_root=extrinsics_root([]),
        logs=[],
        extrinsics=[],
    )
