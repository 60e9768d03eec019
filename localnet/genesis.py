"""Genesis state: endowed dev accounts and zeroed Services counters."""

from __future__ import annotations

from substrateinterface import Keypair

from localnet.blocks import ZERO_HASH, Block, extrinsics_root
from localnet.extrinsics import compact
from localnet.metadata import SPEC_NAME, SPEC_VERSION, TRANSACTION_VERSION, metadata_bytes
from localnet.pallets import balances
from localnet.storage import Overlay, state_root

DEV_ACCOUNTS = ("Alice", "Bob", "Charlie", "Dave", "Eve", "Ferdie")
ENDOWMENT = 10**24
CHAIN_NAME = "Tangle Localnet"
PROPERTIES = {"ss58Format": 42, "tokenDecimals": 18, "tokenSymbol": "TNT"}


def dev_account(name: str) -> str:
    """Hex account id of the sr25519 dev account ``//name``."""
    return "0x" + bytes(Keypair.create_from_uri(f"//{name}").public_key).hex()


def runtime_code() -> bytes:
    """The ``:code`` value: the localnet's runtime is Python, not Wasm, so this is what identifies it.

    Clients key runtimes by the hash of ``:code`` (polkadot-api caches metadata under it); this value holds the
    runtime's name, versions and metadata, so the hash changes whenever they do, as a runtime upgrade's would.
    """
    name = SPEC_NAME.encode()
    versions = SPEC_VERSION.to_bytes(4, "little") + TRANSACTION_VERSION.to_bytes(4, "little")
    return compact(len(name)) + name + versions + metadata_bytes()


def genesis_state() -> dict[bytes, bytes]:
    state: dict[bytes, bytes] = {b":code": runtime_code()}
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
