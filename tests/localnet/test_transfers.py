"""Balance transfers, inclusion/finalization, events, headers and finality."""

from __future__ import annotations

from substrateinterface import SubstrateInterface

from localnet.testing import running_localnet
from tests.localnet.conftest import FINALITY_LAG, free_balance, keypair, rpc


def test_transfer_finalized_changes_balances(substrate: SubstrateInterface) -> None:
    bob, eve = keypair("Bob"), keypair("Eve")
    before_bob, before_eve = free_balance(substrate, bob), free_balance(substrate, eve)
    amount = 3 * 10**18
    call = substrate.compose_call("Balances", "transfer_allow_death", {"dest": eve.ss58_address, "value": amount})
    extrinsic = substrate.create_signed_extrinsic(call, bob)
    receipt = substrate.submit_extrinsic(extrinsic, wait_for_finalization=True)
    assert receipt.finalized
    assert receipt.is_success, receipt.error_message
    fee = before_bob - amount - free_balance(substrate, bob)
    assert fee > 0
    assert free_balance(substrate, eve) == before_eve + amount
    names = [(e.value["module_id"], e.value["event_id"]) for e in receipt.triggered_events]
    assert names == [("Balances", "Withdraw"), ("Balances", "Transfer"), ("System", "ExtrinsicSuccess")]
    events = substrate.get_events(receipt.block_hash)
    assert events[0].value["event_id"] == "ExtrinsicSuccess"  # the timestamp inherent
    assert events[0].value["phase"] == "ApplyExtrinsic" and events[0].value["extrinsic_idx"] == 0
    transfer = next(e for e in events if e.value["event_id"] == "Transfer")
    assert transfer.value["extrinsic_idx"] == receipt.extrinsic_idx
    assert transfer.value["attributes"]["amount"] == amount
    assert substrate.get_account_nonce(bob.ss58_address) == 1
    block = substrate.get_block(receipt.block_hash)
    assert any(x.value["extrinsic_hash"] == receipt.extrinsic_hash for x in block["extrinsics"])
    assert block["extrinsics"][0]["call"]["call_module"].name == "Timestamp"


def test_transfer_keep_alive_mortal_and_inclusion(substrate: SubstrateInterface) -> None:
    charlie, ferdie = keypair("Charlie"), keypair("Ferdie")
    call = substrate.compose_call("Balances", "transfer_keep_alive", {"dest": ferdie.ss58_address, "value": 10**18})
    extrinsic = substrate.create_signed_extrinsic(call, charlie, era={"period": 64})
    receipt = substrate.submit_extrinsic(extrinsic, wait_for_inclusion=True)
    assert receipt.is_success and not receipt.finalized


def test_balance_error_is_extrinsic_failed(substrate: SubstrateInterface) -> None:
    dave = keypair("Dave")
    before = free_balance(substrate, dave)
    call = substrate.compose_call(
        "Balances", "transfer_keep_alive", {"dest": keypair("Bob").ss58_address, "value": before - 10**15}
    )
    receipt = substrate.submit_extrinsic(substrate.create_signed_extrinsic(call, dave), wait_for_inclusion=True)
    assert not receipt.is_success
    assert receipt.error_message["name"] == "Expendability"
    assert 0 < before - free_balance(substrate, dave) < 10**16  # only the fee was taken


def test_timestamp_advances(substrate: SubstrateInterface) -> None:
    first = substrate.query("Timestamp", "Now").value
    head = substrate.get_block_number(substrate.get_chain_head())
    second = substrate.query("Timestamp", "Now", block_hash=substrate.get_block_hash(head - 1)).value
    assert first > second > 0


def test_finalized_headers_lag(substrate: SubstrateInterface) -> None:
    seen: list[int] = []

    def handler(obj, update_nr, subscription_id):
        seen.append(obj["header"]["number"])
        return True if len(seen) >= 3 else None

    substrate.subscribe_block_headers(handler, finalized_only=True)
    assert seen == sorted(seen) and len(set(seen)) == 3
    finalized = substrate.get_block_number(substrate.get_chain_finalised_head())
    assert finalized <= substrate.get_block_number(substrate.get_chain_head()) - FINALITY_LAG


def test_manual_sealing_and_exact_finality() -> None:
    with running_localnet(block_time=0, finality_lag=3) as node:
        client = SubstrateInterface(url=node.url)
        try:
            assert client.get_block_number(client.get_chain_head()) == 0
            hashes = [rpc(client, "engine_createBlock", [True, False, None])["result"]["hash"] for _ in range(5)]
            assert client.get_block_number(client.get_chain_head()) == 5
            assert client.get_chain_finalised_head() == hashes[1]  # block 2 = 5 - 3
            assert rpc(client, "engine_finalizeBlock", [hashes[3], None])["result"] is True
            assert client.get_chain_finalised_head() == hashes[3]
            error = rpc(client, "engine_createBlock", [False, False, None])["error"]
            assert "Transaction pool is empty" in error["message"]
            header = client.get_block_header(hashes[4])["header"]
            assert header["parentHash"] == hashes[3]
        finally:
            client.close()


def test_new_heads_subscription(substrate: SubstrateInterface) -> None:
    numbers: list[int] = []

    def handler(obj, update_nr, subscription_id):
        numbers.append(obj["header"]["number"])
        return True if len(numbers) >= 3 else None

    substrate.subscribe_block_headers(handler)
    assert numbers == list(range(numbers[0], numbers[0] + 3))


def test_sigterm_exits_cleanly() -> None:
    with running_localnet(block_time=0.1) as node:
        process = node.process
    assert process.returncode == 0
