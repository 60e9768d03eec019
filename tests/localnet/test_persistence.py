"""With --base-path, blocks and state survive a restart and the chain continues."""

from __future__ import annotations

from pathlib import Path

from substrateinterface import SubstrateInterface

from localnet import LocalnetNode
from localnet.testing import running_localnet
from tests.localnet.conftest import free_balance, keypair


def test_restart_keeps_chain(tmp_path: Path) -> None:
    alice, bob = keypair("Alice"), keypair("Bob")
    with running_localnet(block_time=0.2, base_path=tmp_path) as node:
        client = SubstrateInterface(url=node.url)
        call = client.compose_call("Balances", "transfer_keep_alive", {"dest": bob.ss58_address, "value": 7 * 10**18})
        receipt = client.submit_extrinsic(client.create_signed_extrinsic(call, alice), wait_for_finalization=True)
        assert receipt.is_success
        balances = (free_balance(client, alice), free_balance(client, bob))
        client.close()
        genesis = node.genesis_hash
    # Read after the node stopped: the number it had when it shut down is what must come back.
    with running_localnet(block_time=0, base_path=tmp_path) as node:
        assert node.genesis_hash == genesis
        client = SubstrateInterface(url=node.url)
        try:
            best = client.get_block_number(client.get_chain_head())
            assert best >= client.get_block_number(receipt.block_hash) + 2  # it was finalized with lag 2
            assert (free_balance(client, alice), free_balance(client, bob)) == balances
            assert client.get_account_nonce(alice.ss58_address) == 1
            events = client.get_events(receipt.block_hash)
            assert any(e.value["event_id"] == "Transfer" for e in events)
            call = client.compose_call("System", "remark", {"remark": "0x00"})
            client.rpc_request("author_submitExtrinsic", [str(client.create_signed_extrinsic(call, alice).data)])
            new = client.rpc_request("engine_createBlock", [True, True, None])["result"]["hash"]
            assert client.get_block_number(new) == best + 1
            assert client.get_account_nonce(alice.ss58_address) == 2
        finally:
            client.close()


async def test_in_process_node(tmp_path: Path) -> None:
    node = LocalnetNode(port=0, block_time=0, finality_lag=1, base_path=tmp_path)
    await node.start()
    try:
        assert node.url.startswith("ws://127.0.0.1:") and not node.url.endswith(":0")
        first = node.seal_block()
        second = node.seal_block()
        assert (first.number, second.number) == (1, 2)
        assert node.chain.finalized == 1
    finally:
        await node.stop()
    again = LocalnetNode(port=0, block_time=0, base_path=tmp_path)
    assert again.chain.best.number == 2 and again.genesis_hash == node.genesis_hash
    await again.start()
    await again.stop()
