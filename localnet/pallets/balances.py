"""pallet_balances: free balances, transfers and fee withdrawal."""

from __future__ import annotations

from typing import Any

from localnet.metadata_pallets import EXISTENTIAL_DEPOSIT
from localnet.pallets import Ctx, DispatchFailure, module_error
from localnet.pallets.system import account, put_account
from localnet.storage import Overlay


def free(state: Overlay, who: str) -> int:
    return int(account(state, who)["data"]["free"])


def endow(state: Overlay, who: str, amount: int) -> None:
    info = account(state, who)
    info["data"]["free"] += amount
    info["providers"] = max(1, info["providers"])
    put_account(state, who, info)
    issuance = int(state.read_or(0, "Balances", "TotalIssuance"))
    state.write("Balances", "TotalIssuance", issuance + amount)


def withdraw_fee(state: Overlay, who: str, fee: int) -> bool:
    """Take ``fee`` from free balance; False (nothing changed) when the account can't pay it."""
    info = account(state, who)
    balance = int(info["data"]["free"])
    if balance < fee or (balance - fee < EXISTENTIAL_DEPOSIT and balance - fee != 0):
        return False
    info["data"]["free"] = balance - fee
    put_account(state, who, info)
    issuance = int(state.read_or(0, "Balances", "TotalIssuance"))
    state.write("Balances", "TotalIssuance", issuance - fee)
    return True


def _dest(value: Any) -> str:
    if isinstance(value, dict):
        if "Id" not in value:
            raise DispatchFailure("CannotLookup", "CannotLookup")
        value = value["Id"]
    text = str(value)
    if not text.startswith("0x") or len(text) != 66:
        raise DispatchFailure("CannotLookup", "CannotLookup")
    return text.lower()


def transfer(ctx: Ctx, source: str, dest: str, value: int, keep_alive: bool) -> None:
    src = account(ctx.state, source)
    balance = int(src["data"]["free"])
    if value > balance:
        raise DispatchFailure({"Token": "FundsUnavailable"}, "FundsUnavailable")
    remaining = balance - value
    if remaining < EXISTENTIAL_DEPOSIT and (keep_alive or remaining != 0):
        if keep_alive:
            raise module_error("Balances", "Expendability")
        raise module_error("Balances", "ExistentialDeposit")
    dst = account(ctx.state, dest)
    created = int(dst["data"]["free"]) == 0 and dst["providers"] == 0
    if created and value < EXISTENTIAL_DEPOSIT:
        raise DispatchFailure({"Token": "BelowMinimum"}, "BelowMinimum")
    src["data"]["free"] = remaining
    put_account(ctx.state, source, src)
    dst = account(ctx.state, dest)
    dst["data"]["free"] += value
    dst["providers"] = max(1, dst["providers"])
    put_account(ctx.state, dest, dst)
    if created:
        ctx.deposit("System", "NewAccount", {"account": dest})
        ctx.deposit("Balances", "Endowed", {"account": dest, "free_balance": value})
    ctx.deposit("Balances", "Transfer", {"from": source, "to": dest, "amount": value})


def dispatch(ctx: Ctx, function: str, args: dict[str, Any]) -> None:
    sender = ctx.signer()
    if function in ("transfer_allow_death", "transfer_keep_alive"):
        transfer(ctx, sender, _dest(args["dest"]), int(args["value"]), function == "transfer_keep_alive")
        return
    if function == "transfer_all":
        keep = bool(args["keep_alive"])
        amount = free(ctx.state, sender) - (EXISTENTIAL_DEPOSIT if keep else 0)
        transfer(ctx, sender, _dest(args["dest"]), max(amount, 0), keep)
        return
    raise DispatchFailure("CannotLookup", "CannotLookup")
