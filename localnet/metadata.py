"""The runtime's V14 metadata: portable type registry plus pallet descriptions, encoded with scalecodec."""

from __future__ import annotations

import functools
from typing import Any

from scalecodec.base import RuntimeConfigurationObject
from scalecodec.type_registry import load_type_registry_preset

from localnet.metadata_pallets import pallet_descriptions
from localnet.metadata_services import build_services_types
from localnet.typebuilder import Field, TypeBuilder

SPEC_NAME = "tangle-localnet"
SPEC_VERSION = 1
TRANSACTION_VERSION = 1

PALLET_INDEX = {"System": 0, "Timestamp": 1, "Balances": 5, "Services": 51}
SYSTEM_ERRORS = ["InvalidSpecName", "SpecVersionNeedsToIncrease", "FailedToExtractRuntimeVersion", "CallFiltered"]
BALANCES_ERRORS = [
    "VestingBalance",
    "LiquidityRestrictions",
    "InsufficientBalance",
    "ExistentialDeposit",
    "Expendability",
    "ExistingVestingSchedule",
    "DeadAccount",
    "TooManyReserves",
]


def build_metadata_value() -> list[Any]:
    """The ``MetadataVersioned`` value (magic + V14) as scalecodec's encoder accepts it."""
    b = TypeBuilder()
    u8, u16, u32, u64, u128 = (b.prim(n) for n in ("u8", "u16", "u32", "u64", "u128"))
    bool_t = b.prim("bool")
    bytes_t = b.seq(u8)
    h256 = b.composite("primitive_types::H256", [(None, b.array(32, u8), "[u8; 32]")])
    h160 = b.composite("primitive_types::H160", [(None, b.array(20, u8), "[u8; 20]")])
    account = b.composite("sp_core::crypto::AccountId32", [(None, b.array(32, u8), "[u8; 32]")])
    c_u32, c_u64, c_u128 = b.compact(u32), b.compact(u64), b.compact(u128)
    unit = b.tup()
    address = b.variant(
        "sp_runtime::multiaddress::MultiAddress",
        [
            ("Id", 0, [(None, account, "AccountId")]),
            ("Index", 1, [(None, c_u32, "AccountIndex")]),
            ("Raw", 2, [(None, bytes_t, "Vec<u8>")]),
            ("Address32", 3, [(None, b.array(32, u8), "[u8; 32]")]),
            ("Address20", 4, [(None, b.array(20, u8), "[u8; 20]")]),
        ],
        params=[("AccountId", account), ("AccountIndex", unit)],
    )
    sig64 = b.array(64, u8)
    signature = b.variant(
        "sp_runtime::MultiSignature",
        [
            ("Ed25519", 0, [(None, b.composite("sp_core::ed25519::Signature", [(None, sig64, None)]), None)]),
            ("Sr25519", 1, [(None, b.composite("sp_core::sr25519::Signature", [(None, sig64, None)]), None)]),
            ("Ecdsa", 2, [(None, b.composite("sp_core::ecdsa::Signature", [(None, b.array(65, u8), None)]), None)]),
        ],
    )
    era_variants: list[tuple[str, int, list[Field]]] = [("Immortal", 0, [])]
    era_variants += [(f"Mortal{i}", i, [(None, u8, None)]) for i in range(1, 256)]
    era = b.variant("sp_runtime::generic::era::Era", era_variants)
    weight = b.composite("sp_weights::weight_v2::Weight", [("ref_time", c_u64, "u64"), ("proof_size", c_u64, "u64")])
    dispatch_class = b.simple_enum("frame_support::dispatch::DispatchClass", ["Normal", "Operational", "Mandatory"])
    pays = b.simple_enum("frame_support::dispatch::Pays", ["Yes", "No"])
    dispatch_info = b.composite(
        "frame_support::dispatch::DispatchInfo",
        [("weight", weight, "Weight"), ("class", dispatch_class, None), ("pays_fee", pays, None)],
    )
    module_error = b.composite("sp_runtime::ModuleError", [("index", u8, "u8"), ("error", b.array(4, u8), "[u8; 4]")])
    token_error = b.simple_enum(
        "sp_runtime::TokenError",
        ["FundsUnavailable", "OnlyProvider", "BelowMinimum", "CannotCreate", "UnknownAsset", "Frozen", "Unsupported"],
    )
    arith_error = b.simple_enum("sp_arithmetic::ArithmeticError", ["Underflow", "Overflow", "DivisionByZero"])
    dispatch_error = b.variant(
        "sp_runtime::DispatchError",
        [
            ("Other", 0, []),
            ("CannotLookup", 1, []),
            ("BadOrigin", 2, []),
            ("Module", 3, [(None, module_error, "ModuleError")]),
            ("ConsumerRemaining", 4, []),
            ("NoProviders", 5, []),
            ("TooManyConsumers", 6, []),
            ("Token", 7, [(None, token_error, "TokenError")]),
            ("Arithmetic", 8, [(None, arith_error, "ArithmeticError")]),
            ("Transactional", 9, []),
            ("Exhausted", 10, []),
            ("Corruption", 11, []),
            ("Unavailable", 12, []),
        ],
    )
    account_data = b.composite(
        "pallet_balances::types::AccountData",
        [("free", u128, None), ("reserved", u128, None), ("frozen", u128, None), ("flags", u128, "ExtraFlags")],
    )
    account_info = b.composite(
        "frame_system::AccountInfo",
        [
            ("nonce", u32, "Nonce"),
            ("consumers", u32, "RefCount"),
            ("providers", u32, "RefCount"),
            ("sufficients", u32, "RefCount"),
            ("data", account_data, "AccountData"),
        ],
    )
    b.variant(
        "sp_runtime::generic::digest::DigestItem",
        [
            ("Other", 0, [(None, bytes_t, None)]),
            ("Consensus", 4, [(None, b.array(4, u8), None), (None, bytes_t, None)]),
            ("Seal", 5, [(None, b.array(4, u8), None), (None, bytes_t, None)]),
            ("PreRuntime", 6, [(None, b.array(4, u8), None), (None, bytes_t, None)]),
            ("RuntimeEnvironmentUpdated", 8, []),
        ],
    )
    system_call = b.variant(
        "frame_system::pallet::Call",
        [("remark", 0, [("remark", bytes_t, "Vec<u8>")]), ("remark_with_event", 7, [("remark", bytes_t, "Vec<u8>")])],
    )
    timestamp_call = b.variant("pallet_timestamp::pallet::Call", [("set", 0, [("now", b.compact(u64), "T::Moment")])])
    balances_call = b.variant(
        "pallet_balances::pallet::Call",
        [
            ("transfer_allow_death", 0, [("dest", address, "AccountIdLookupOf<T>"), ("value", c_u128, "T::Balance")]),
            ("transfer_keep_alive", 3, [("dest", address, "AccountIdLookupOf<T>"), ("value", c_u128, "T::Balance")]),
            ("transfer_all", 4, [("dest", address, "AccountIdLookupOf<T>"), ("keep_alive", bool_t, "bool")]),
        ],
    )
    system_event = b.variant(
        "frame_system::pallet::Event",
        [
            ("ExtrinsicSuccess", 0, [("dispatch_info", dispatch_info, "DispatchInfo")]),
            (
                "ExtrinsicFailed",
                1,
                [("dispatch_error", dispatch_error, "DispatchError"), ("dispatch_info", dispatch_info, "DispatchInfo")],
            ),
            ("CodeUpdated", 2, []),
            ("NewAccount", 3, [("account", account, "T::AccountId")]),
            ("KilledAccount", 4, [("account", account, "T::AccountId")]),
            ("Remarked", 5, [("sender", account, "T::AccountId"), ("hash", h256, "T::Hash")]),
        ],
    )
    acc_amt: list[Field] = [("who", account, "T::AccountId"), ("amount", u128, "T::Balance")]
    balances_event = b.variant(
        "pallet_balances::pallet::Event",
        [
            ("Endowed", 0, [("account", account, "T::AccountId"), ("free_balance", u128, "T::Balance")]),
            ("DustLost", 1, [("account", account, "T::AccountId"), ("amount", u128, "T::Balance")]),
            (
                "Transfer",
                2,
                [("from", account, "T::AccountId"), ("to", account, "T::AccountId"), ("amount", u128, "T::Balance")],
            ),
            ("Deposit", 7, acc_amt),
            ("Withdraw", 8, acc_amt),
        ],
    )
    system_error = b.simple_enum("frame_system::pallet::Error", SYSTEM_ERRORS)
    balances_error = b.simple_enum("pallet_balances::pallet::Error", BALANCES_ERRORS)
    svc = build_services_types(b, account, h160, bytes_t)

    runtime_call = b.variant(
        "tangle_runtime::RuntimeCall",
        [
            ("System", 0, [(None, system_call, "frame_system::Call<Runtime>")]),
            ("Timestamp", 1, [(None, timestamp_call, "pallet_timestamp::Call<Runtime>")]),
            ("Balances", 5, [(None, balances_call, "pallet_balances::Call<Runtime>")]),
            ("Services", 51, [(None, svc.call, "pallet_services::Call<Runtime>")]),
        ],
    )
    runtime_event = b.variant(
        "tangle_runtime::RuntimeEvent",
        [
            ("System", 0, [(None, system_event, None)]),
            ("Balances", 5, [(None, balances_event, None)]),
            ("Services", 51, [(None, svc.event, None)]),
        ],
    )
    phase = b.variant(
        "frame_system::Phase",
        [("ApplyExtrinsic", 0, [(None, u32, "u32")]), ("Finalization", 1, []), ("Initialization", 2, [])],
    )
    event_record = b.composite(
        "frame_system::EventRecord",
        [("phase", phase, "Phase"), ("event", runtime_event, "E"), ("topics", b.seq(h256), "Vec<T>")],
        params=[("E", runtime_event), ("T", h256)],
    )
    vec_events = b.seq(event_record)
    extra = b.tup()
    uxt = b.composite(
        "sp_runtime::generic::unchecked_extrinsic::UncheckedExtrinsic",
        [(None, bytes_t, None)],
        params=[("Address", address), ("Call", runtime_call), ("Signature", signature), ("Extra", extra)],
    )
    runtime = b.composite("tangle_runtime::Runtime", [])

    pallets = pallet_descriptions(
        account=account,
        account_info=account_info,
        u32=u32,
        h256=h256,
        vec_events=vec_events,
        system_call=system_call,
        system_event=system_event,
        u16=u16,
        system_error=system_error,
        u64=u64,
        timestamp_call=timestamp_call,
        u128=u128,
        balances_call=balances_call,
        balances_event=balances_event,
        balances_error=balances_error,
        svc=svc,
        b=b,
    )
    pallets[0]["constants"].insert(1, _version_constant(b, u8, u32))
    h256_ = h256
    signed_extensions = [
        {"identifier": "CheckNonZeroSender", "ty": unit, "additional_signed": unit},
        {"identifier": "CheckSpecVersion", "ty": unit, "additional_signed": u32},
        {"identifier": "CheckTxVersion", "ty": unit, "additional_signed": u32},
        {"identifier": "CheckGenesis", "ty": unit, "additional_signed": h256_},
        {"identifier": "CheckMortality", "ty": era, "additional_signed": h256_},
        {"identifier": "CheckNonce", "ty": c_u32, "additional_signed": unit},
        {"identifier": "CheckWeight", "ty": unit, "additional_signed": unit},
        {"identifier": "ChargeTransactionPayment", "ty": c_u128, "additional_signed": unit},
    ]
    v14 = {
        "types": {"types": b.types},
        "pallets": pallets,
        "extrinsic": {"ty": uxt, "version": 4, "signed_extensions": signed_extensions},
        "runtime_type": runtime,
    }
    return ["0x6d657461", {"V14": v14}]


def _version_constant(b: TypeBuilder, u8: int, u32: int) -> dict[str, Any]:
    """``System.Version``, the runtime version as FRAME exports it; clients (polkadot-api) sign with it."""
    from localnet.runtime_api import encode_runtime_version, runtime_version  # runtime_api imports this module

    text = b.prim("str")
    apis = b.seq(b.tup(b.array(8, u8), u32))
    version = b.composite(
        "sp_version::RuntimeVersion",
        [
            ("spec_name", text, "RuntimeString"),
            ("impl_name", text, "RuntimeString"),
            ("authoring_version", u32, "u32"),
            ("spec_version", u32, "u32"),
            ("impl_version", u32, "u32"),
            ("apis", apis, "ApisVec"),
            ("transaction_version", u32, "u32"),
            ("state_version", u8, "u8"),
        ],
    )
    value = encode_runtime_version(runtime_version())
    return {"name": "Version", "type": version, "value": "0x" + value.hex(), "documentation": []}


@functools.cache
def metadata_bytes() -> bytes:
    """SCALE-encoded ``MetadataVersioned`` served by ``state_getMetadata``."""
    config = RuntimeConfigurationObject()
    config.update_type_registry(load_type_registry_preset("core"))
    obj = config.create_scale_object("MetadataVersioned")
    data = obj.encode(build_metadata_value())
    return bytes(data.data)
