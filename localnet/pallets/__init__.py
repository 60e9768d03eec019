"""Runtime pallets: each exposes ``dispatch(ctx, call_function, args)``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from localnet.metadata import BALANCES_ERRORS, PALLET_INDEX, SYSTEM_ERRORS
from localnet.metadata_services import SERVICES_ERRORS
from localnet.storage import Overlay

_ERRORS = {"System": SYSTEM_ERRORS, "Balances": BALANCES_ERRORS, "Services": SERVICES_ERRORS}


class DispatchFailure(Exception):
    """A dispatch error; ``value`` is the ``DispatchError`` value as scalecodec encodes it."""

    def __init__(self, value: Any, name: str) -> None:
        super().__init__(name)
        self.value = value
        self.name = name


def module_error(pallet: str, name: str) -> DispatchFailure:
    """``DispatchError::Module`` for the pallet's error ``name`` (error index in the first of 4 bytes)."""
    index = _ERRORS[pallet].index(name)
    return DispatchFailure(
        {"Module": {"index": PALLET_INDEX[pallet], "error": "0x" + bytes([index, 0, 0, 0]).hex()}}, name
    )


def bad_origin() -> DispatchFailure:
    return DispatchFailure("BadOrigin", "BadOrigin")


@dataclass
class Ctx:
    """What a dispatched call sees: state overlay, event sink, block number and signer (hex account id)."""

    state: Overlay
    block_number: int
    origin: str | None
    events: list[Any] = field(default_factory=list)

    def deposit(self, pallet: str, event: str, attributes: dict[str, Any]) -> None:
        self.events.append({pallet: {event: attributes}})

    def signer(self) -> str:
        if self.origin is None:
            raise bad_origin()
        return self.origin
