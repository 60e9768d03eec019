"""pallet_timestamp: the ``set`` inherent keeps ``Timestamp.Now`` in milliseconds."""

from __future__ import annotations

from typing import Any

from localnet.pallets import Ctx, DispatchFailure, bad_origin


def dispatch(ctx: Ctx, function: str, args: dict[str, Any]) -> None:
    if ctx.origin is not None:
        raise bad_origin()
    if function != "set":
        raise DispatchFailure("CannotLookup", "CannotLookup")
    now = int(args["now"])
    previous = int(ctx.state.read_or(0, "Timestamp", "Now"))
    if now < previous:
        raise DispatchFailure("Other", "Timestamp must increment")
    ctx.state.write("Timestamp", "Now", now)
