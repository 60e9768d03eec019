"""frame_system: accounts, nonces and remarks."""

from __future__ import annotations

from typing import Any

from substrateinterface.utils.hasher import blake2_256

from localnet.pallets import Ctx, DispatchFailure
from localnet.storage import Overlay


def empty_account() -> dict[str, Any]:
    return {
        "nonce": 0,
        "consumers": 0,
        "providers": 0,
        "sufficients": 0,
        "data": {"free": 0, "reserved": 0, "frozen": 0, "flags": 1 << 127},
    }


def account(state: Overlay, who: str) -> dict[str, Any]:
    value = state.read("System", "Account", who)
    return empty_account() if value is None else dict(value)


def put_account(state: Overlay, who: str, info: dict[str, Any]) -> None:
    if info["data"]["free"] == 0 and info["data"]["reserved"] == 0 and info["nonce"] == 0:
        state.remove("System", "Account", who)
    else:
        state.write("System", "Account", who, info)


def nonce(state: Overlay, who: str) -> int:
    return int(account(state, who)["nonce"])


def inc_nonce(state: Overlay, who: str) -> None:
    info = account(state, who)
    info["nonce"] += 1
    state.write("System", "Account", who, info)


def dispatch(ctx: Ctx, function: str, args: dict[str, Any]) -> None:
    sender = ctx.signer()
    if function == "remark":
        return
    if function == "remark_with_event":
        data = _bytes(args["remark"])
        ctx.deposit("System", "Remarked", {"sender": sender, "hash": "0x" + bytes(blake2_256(data)).hex()})
        return
    raise DispatchFailure("CannotLookup", "CannotLookup")


def _bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    text = str(value)
    return bytes.fromhex(text[2:]) if text.startswith("0x") else text.encode()
