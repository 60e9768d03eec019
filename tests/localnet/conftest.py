"""Fixtures: a real localnet subprocess and substrate-interface clients connected to it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from substrateinterface import Keypair, SubstrateInterface

from localnet.testing import RunningLocalnet, running_localnet

FINALITY_LAG = 2


@pytest.fixture(scope="module")
def localnet() -> Iterator[RunningLocalnet]:
    with running_localnet(block_time=0.25, finality_lag=FINALITY_LAG) as node:
        yield node


@pytest.fixture(scope="module")
def substrate(localnet: RunningLocalnet) -> Iterator[SubstrateInterface]:
    client = SubstrateInterface(url=localnet.url)
    yield client
    client.close()


def keypair(name: str) -> Keypair:
    return Keypair.create_from_uri(f"//{name}")


def free_balance(substrate: SubstrateInterface, who: Keypair) -> int:
    return int(substrate.query("System", "Account", [who.ss58_address]).value["data"]["free"])


def rpc(substrate: SubstrateInterface, method: str, params: list[Any]) -> dict[str, Any]:
    """Raw request; returns the JSON-RPC response (``error`` included instead of raising)."""
    try:
        return dict(substrate.rpc_request(method, params))
    except Exception as exc:  # substrate-interface raises SubstrateRequestException(error dict)
        if exc.args and isinstance(exc.args[0], dict):
            return {"error": exc.args[0]}
        raise
