"""Metadata served by the localnet decodes with substrate-interface and composes every Services call."""

from __future__ import annotations

from substrateinterface import SubstrateInterface

from tests.localnet.conftest import keypair

ALICE = keypair("Alice").ss58_address
FIELD_TYPES = ["String", {"Optional": "String"}, {"List": "Uint8"}, {"Array": (2, "Uint8")}, "Int32", "AccountId"]


def sample_blueprint() -> dict:
    return {
        "metadata": {
            "name": "faas",
            "description": "test",
            "author": None,
            "category": None,
            "code_repository": None,
            "logo": None,
            "website": None,
            "license": "Apache-2.0",
        },
        "jobs": [
            {
                "metadata": {"name": "execute", "description": None},
                "params": ["String", "String", {"Optional": "String"}],
                "result": [{"List": "Uint8"}, "String", "Int32"],
            }
        ],
        "registration_params": [],
        "request_params": [],
        "manager": {"Evm": "0x" + "00" * 20},
        "master_manager_revision": "Latest",
    }


def test_runtime_basics(substrate: SubstrateInterface) -> None:
    md = substrate.get_metadata()
    names = {p.name: p.value["index"] for p in md.pallets}
    assert names == {"System": 0, "Timestamp": 1, "Balances": 5, "Services": 51}
    assert substrate.ss58_format == 42
    assert substrate.properties["tokenSymbol"] == "TNT"
    assert substrate.get_block_hash(0) is not None
    extensions = list(md.get_signed_extensions())
    assert extensions == [
        "CheckNonZeroSender",
        "CheckSpecVersion",
        "CheckTxVersion",
        "CheckGenesis",
        "CheckMortality",
        "CheckNonce",
        "CheckWeight",
        "ChargeTransactionPayment",
    ]


def test_compose_every_services_call(substrate: SubstrateInterface) -> None:
    field_args = [
        {"String": "python"},
        {"Optional": ("String", None)},
        {"List": ("Uint8", [{"Uint8": 1}, {"Uint8": 2}])},
        {"Array": ("Uint8", [{"Uint8": 1}])},
        {"Struct": ("s", [("a", {"Bool": True})])},
        {"AccountId": ALICE},
    ]
    prefs = {"key": "0x04" + "11" * 64, "rpc_address": "http://x"}
    calls = {
        "create_blueprint": {"blueprint": sample_blueprint()},
        "pre_register": {"blueprint_id": 0},
        "register": {"blueprint_id": 0, "preferences": prefs, "registration_args": field_args, "value": 0},
        "request": {
            "evm_origin": None,
            "blueprint_id": 1,
            "permitted_callers": [ALICE],
            "operators": [ALICE],
            "request_args": [],
            "asset_security_requirements": [
                {"asset": {"Custom": 0}, "min_exposure_percent": 10, "max_exposure_percent": 50}
            ],
            "ttl": 100,
            "payment_asset": {"Erc20": "0x" + "00" * 20},
            "value": 0,
            "membership_model": {"Dynamic": {"min_operators": 1, "max_operators": None}},
        },
        "approve": {"request_id": 0, "security_commitments": [{"asset": {"Custom": 0}, "exposure_percent": 10}]},
        "reject": {"request_id": 0},
        "terminate": {"service_id": 0},
        "call": {"service_id": 0, "job": 0, "args": field_args},
        "submit_result": {"service_id": 0, "call_id": 0, "result": field_args},
    }
    indices = {}
    for name, params in calls.items():
        call = substrate.compose_call("Services", name, params)
        indices[name] = call.data.data[1]
        assert call.data.data[0] == 51
    assert indices == {
        "create_blueprint": 0,
        "pre_register": 1,
        "register": 2,
        "request": 4,
        "approve": 5,
        "reject": 6,
        "terminate": 7,
        "call": 8,
        "submit_result": 9,
    }
    field_type = substrate.create_scale_object("tangle_primitives::services::field::FieldType")
    for value in FIELD_TYPES:
        assert field_type.decode(field_type.encode(value)) == value or value == {"Array": (2, "Uint8")}


def test_field_encoding_matches_contract(substrate: SubstrateInterface) -> None:
    field = substrate.create_scale_object("tangle_primitives::services::field::Field")
    assert field.encode({"String": "hi"}).to_hex() == "0x0a086869"
    assert field.encode({"Uint8": 7}).to_hex() == "0x0207"
    assert field.encode({"AccountId": "0x" + "00" * 32}).to_hex() == "0x64" + "00" * 32
    field_type = substrate.create_scale_object("tangle_primitives::services::field::FieldType")
    assert field_type.encode({"List": "Uint8"}).to_hex() == "0x0e02"
    assert field_type.encode("AccountId").to_hex() == "0x64"
