"""The Services pallet flow through substrate-interface: blueprint → service → job call → result."""

from __future__ import annotations

import json
from pathlib import Path

from substrateinterface import Keypair, SubstrateInterface

from localnet.bootstrap import OperatorRegistration, bootstrap_service
from localnet.testing import RunningLocalnet, running_localnet
from tests.localnet.conftest import keypair
from tests.localnet.test_metadata import sample_blueprint

ROLE_KEY = "0x04" + "ab" * 64


def submit(substrate: SubstrateInterface, who: Keypair, function: str, params: dict):
    call = substrate.compose_call("Services", function, params)
    return substrate.submit_extrinsic(substrate.create_signed_extrinsic(call, who), wait_for_inclusion=True)


def event(receipt, name: str) -> dict:
    matches = [e.value["attributes"] for e in receipt.triggered_events if e.value["event_id"] == name]
    assert matches, [e.value["event_id"] for e in receipt.triggered_events]
    return matches[0]


def test_full_services_flow(localnet: RunningLocalnet, substrate: SubstrateInterface) -> None:
    alice, bob, charlie = keypair("Alice"), keypair("Bob"), keypair("Charlie")
    blueprint_id, service_id = bootstrap_service(
        localnet.url,
        sample_blueprint(),
        [OperatorRegistration(bob, bytes.fromhex(ROLE_KEY[2:]), "http://127.0.0.1:9000")],
        owner=alice,
        permitted_callers=[alice.ss58_address],
    )
    prefs = substrate.query("Services", "Operators", [blueprint_id, bob.ss58_address]).value
    assert prefs == {"key": ROLE_KEY, "rpc_address": "http://127.0.0.1:9000"}
    owner, stored = substrate.query("Services", "Blueprints", [blueprint_id]).value
    assert owner == alice.ss58_address and stored["jobs"][0]["metadata"]["name"] == "execute"
    instance = substrate.query("Services", "Instances", [service_id]).value
    assert instance["owner"] == alice.ss58_address
    assert instance["permitted_callers"] == [alice.ss58_address]
    assert [op for op, _ in instance["operator_security_commitments"]] == [bob.ss58_address]
    operators = list(substrate.query_map("Services", "Operators", [blueprint_id]))
    assert [key.value for key, _ in operators] == [bob.ss58_address]

    args = [{"String": "python"}, {"String": "print(1)"}, {"Optional": ("String", None)}]
    receipt = submit(substrate, alice, "call", {"service_id": service_id, "job": 0, "args": args})
    assert receipt.is_success, receipt.error_message
    called = event(receipt, "JobCalled")
    call_id = called["call_id"]
    assert called["caller"] == alice.ss58_address and called["job"] == 0 and called["args"] == args
    job_call = substrate.query("Services", "JobCalls", [service_id, call_id]).value
    assert job_call == {"service_id": service_id, "job": 0, "args": args}

    result = [{"List": ("Uint8", [{"Uint8": 1}] * 32)}, {"String": "completed"}, {"Int32": 0}]
    receipt = submit(substrate, bob, "submit_result", {"service_id": service_id, "call_id": call_id, "result": result})
    assert receipt.is_success, receipt.error_message
    submitted = event(receipt, "JobResultSubmitted")
    assert submitted["operator"] == bob.ss58_address and submitted["call_id"] == call_id
    stored_result = substrate.query("Services", "JobResults", [service_id, call_id]).value
    assert stored_result["result"] == result
    # Resubmission overwrites and emits again, as Tangle does.
    result[1] = {"String": "again"}
    receipt = submit(substrate, bob, "submit_result", {"service_id": service_id, "call_id": call_id, "result": result})
    assert receipt.is_success
    assert substrate.query("Services", "JobResults", [service_id, call_id]).value["result"][1] == {"String": "again"}
    all_results = list(substrate.query_map("Services", "JobResults", [service_id]))
    assert len(all_results) == 1
    assert substrate.query("Services", "NextJobCallId").value == call_id + 1

    # Pallet errors surface as ExtrinsicFailed with DispatchError::Module.
    bad_args = [{"String": "python"}, {"Uint8": 1}, {"Optional": ("String", None)}]
    receipt = submit(substrate, alice, "call", {"service_id": service_id, "job": 0, "args": bad_args})
    assert not receipt.is_success and receipt.error_message["name"] == "InvalidJobCallInput"
    receipt = submit(substrate, alice, "call", {"service_id": service_id, "job": 0, "args": args[:2]})
    assert receipt.error_message["name"] == "InvalidJobCallInput"
    receipt = submit(substrate, alice, "call", {"service_id": service_id, "job": 7, "args": args})
    assert receipt.error_message["name"] == "JobDefinitionNotFound"
    receipt = submit(substrate, alice, "call", {"service_id": 999, "job": 0, "args": args})
    assert receipt.error_message["name"] == "ServiceNotFound"
    receipt = submit(substrate, charlie, "call", {"service_id": service_id, "job": 0, "args": args})
    assert receipt.error_message["name"] == "NotAllowedToCall"
    receipt = submit(
        substrate, charlie, "submit_result", {"service_id": service_id, "call_id": call_id, "result": result}
    )
    assert not receipt.is_success and receipt.error_message["name"] == "NotRegistered"
    receipt = submit(
        substrate, bob, "submit_result", {"service_id": service_id, "call_id": call_id, "result": result[:1]}
    )
    assert receipt.error_message["name"] == "InvalidJobResult"
    receipt = submit(
        substrate,
        bob,
        "register",
        {"blueprint_id": blueprint_id, "preferences": prefs, "registration_args": [], "value": 0},
    )
    assert receipt.error_message["name"] == "AlreadyRegistered"
    assert substrate.query("Services", "NextJobCallId").value == call_id + 1  # failed calls changed nothing


def test_bootstrap_cli(tmp_path: Path) -> None:
    blueprint_file = tmp_path / "blueprint.json"
    blueprint_file.write_text(json.dumps(sample_blueprint()))
    extra = ["--bootstrap-blueprint", str(blueprint_file), "--operator-seed", "//Alice", "--role-key", ROLE_KEY]
    extra += ["--rpc-address", "http://127.0.0.1:9100"]
    for block_time in (0.2, 0):
        with running_localnet(block_time=block_time, extra_args=extra) as node:
            service_id = int(node.read_line("service_id="))
            client = SubstrateInterface(url=node.url)
            try:
                instance = client.query("Services", "Instances", [service_id]).value
                assert instance["owner"] == keypair("Alice").ss58_address
                assert instance["permitted_callers"] == []
                # Anyone may call when permitted_callers is empty.
                args = [{"String": "a"}, {"String": "b"}, {"Optional": ("String", {"String": "c"})}]
                call = client.compose_call("Services", "call", {"service_id": service_id, "job": 0, "args": args})
                xt = client.create_signed_extrinsic(call, keypair("Dave"))
                if block_time == 0:
                    client.rpc_request("author_submitExtrinsic", [str(xt.data)])
                    block = client.rpc_request("engine_createBlock", [True, True, None])["result"]["hash"]
                    events = client.get_events(block)
                    assert any(e.value["event_id"] == "JobCalled" for e in events)
                else:
                    assert client.submit_extrinsic(xt, wait_for_inclusion=True).is_success
            finally:
                client.close()
