"""ChainClient against a real localnet: connection, heads, and refusing to hang on a dead node."""

from __future__ import annotations

import socket

import pytest

from chain import ChainClient, ChainConnectionError, ChainRequestError


def test_genesis_and_heads(deployment):
    chain = deployment.chain
    assert "0x" + chain.genesis_hash.hex() == deployment.net.genesis_hash
    head = chain.finalized_head()
    number = chain.block_number(head)
    assert chain.block_hash(number) == head
    assert chain.block_hash(0) == deployment.net.genesis_hash


def test_unknown_block_is_a_request_error(deployment):
    with pytest.raises(ChainRequestError):
        deployment.chain.block_hash(10**9)


def test_connect_gives_up_after_its_attempts():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = ChainClient(f"ws://127.0.0.1:{port}", connect_attempts=2, backoff_s=0.01)
    with pytest.raises(ChainConnectionError, match="after 2 attempts"):
        client.connect()


def test_reconnects_after_the_connection_is_closed(deployment):
    client = ChainClient(deployment.net.url).connect()
    client.close()
    assert client.finalized_number() >= 0
    client.close()
