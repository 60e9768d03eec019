"""Portable types of the Services pallet (index 51), shaped like Tangle's per the shared contract."""

from __future__ import annotations

from dataclasses import dataclass

from localnet.metadata_fields import build_field_types
from localnet.typebuilder import Field, TypeBuilder

P = "tangle_primitives::services"

SERVICES_ERRORS = [
    "BlueprintNotFound",
    "AlreadyRegistered",
    "InvalidRegistrationInput",
    "InvalidRequestInput",
    "InvalidJobCallInput",
    "InvalidJobResult",
    "NotRegistered",
    "ApprovalInterrupted",
    "RejectionInterrupted",
    "ServiceRequestNotFound",
    "ServiceInitializationInterrupted",
    "ServiceNotFound",
    "TerminationInterrupted",
    "TypeCheck",
    "MaxPermittedCallersExceeded",
    "MaxServiceProvidersExceeded",
    "MaxFieldsExceeded",
    "ApprovalNotRequested",
    "JobDefinitionNotFound",
    "ServiceOrJobCallNotFound",
    "JobCallResultNotFound",
    "NotAllowedToCall",
    "FieldTooLarge",
]


@dataclass
class ServicesTypes:
    """Type ids the Services pallet description needs."""

    call: int
    event: int
    error: int
    blueprint_entry: int
    blueprint: int
    preferences: int
    request: int
    service: int
    job_call: int
    job_result: int


def build_services_types(b: TypeBuilder, account: int, h160: int, bytes_t: int) -> ServicesTypes:
    u8, u32, u64, u128 = b.prim("u8"), b.prim("u32"), b.prim("u64"), b.prim("u128")
    bool_t = b.prim("bool")
    c_u64, c_u128, c_u8 = b.compact(u64), b.compact(u128), b.compact(u8)
    opt_bytes = b.option(bytes_t)
    vec_account = b.seq(account)

    _, vec_ft, _, vec_field = build_field_types(b, account, bytes_t)

    job_meta = b.composite(f"{P}::jobs::JobMetadata", [("name", bytes_t, None), ("description", opt_bytes, None)])
    job_def = b.composite(
        f"{P}::jobs::JobDefinition",
        [("metadata", job_meta, None), ("params", vec_ft, None), ("result", vec_ft, None)],
    )
    meta_names = ["name", "description", "author", "category", "code_repository", "logo", "website", "license"]
    svc_meta = b.composite(
        f"{P}::service::ServiceMetadata",
        [(n, bytes_t if n == "name" else opt_bytes, None) for n in meta_names],
    )
    manager = b.variant(f"{P}::service::BlueprintServiceManager", [("Evm", 0, [(None, h160, "H160")])])
    revision = b.variant(
        f"{P}::service::MasterBlueprintServiceManagerRevision",
        [("Latest", 0, []), ("Specific", 1, [(None, u32, "u32")])],
    )
    blueprint = b.composite(
        f"{P}::service::ServiceBlueprint",
        [
            ("metadata", svc_meta, None),
            ("jobs", b.seq(job_def), None),
            ("registration_params", vec_ft, None),
            ("request_params", vec_ft, None),
            ("manager", manager, None),
            ("master_manager_revision", revision, None),
        ],
    )
    prefs = b.composite(
        f"{P}::types::OperatorPreferences", [("key", b.array(65, u8), None), ("rpc_address", bytes_t, None)]
    )
    opt_u32 = b.option(u32)
    membership = b.variant(
        f"{P}::types::MembershipModel",
        [
            ("Fixed", 0, [("min_operators", u32, None)]),
            ("Dynamic", 1, [("min_operators", u32, None), ("max_operators", opt_u32, None)]),
        ],
    )
    asset = b.variant(
        f"{P}::types::Asset", [("Custom", 0, [(None, u128, "AssetId")]), ("Erc20", 1, [(None, h160, "H160")])]
    )
    asset_req = b.composite(
        f"{P}::types::AssetSecurityRequirement",
        [("asset", asset, None), ("min_exposure_percent", u8, None), ("max_exposure_percent", u8, None)],
    )
    asset_commit = b.composite(
        f"{P}::types::AssetSecurityCommitment", [("asset", asset, None), ("exposure_percent", u8, None)]
    )
    vec_req, vec_commit = b.seq(asset_req), b.seq(asset_commit)
    op_commit = b.seq(b.tup(account, vec_commit))
    service = b.composite(
        f"{P}::service::Service",
        [
            ("id", u64, None),
            ("blueprint", u64, None),
            ("owner", account, None),
            ("operator_security_commitments", op_commit, None),
            ("security_requirements", vec_req, None),
            ("permitted_callers", vec_account, None),
            ("ttl", u64, None),
            ("membership_model", membership, None),
        ],
    )
    request = b.composite(
        f"{P}::service::ServiceRequest",
        [
            ("blueprint", u64, None),
            ("owner", account, None),
            ("security_requirements", vec_req, None),
            ("ttl", u64, None),
            ("args", vec_field, None),
            ("permitted_callers", vec_account, None),
            ("operators_with_approval_state", b.seq(b.tup(account, bool_t)), None),
            ("membership_model", membership, None),
        ],
    )
    job_call = b.composite(
        f"{P}::jobs::JobCall", [("service_id", u64, None), ("job", u8, None), ("args", vec_field, None)]
    )
    job_result = b.composite(
        f"{P}::jobs::JobCallResult",
        [("service_id", u64, None), ("call_id", u64, None), ("result", vec_field, None)],
    )
    opt_h160 = b.option(h160)
    call = b.variant(
        "pallet_services::module::Call",
        [
            ("create_blueprint", 0, [("blueprint", blueprint, "ServiceBlueprint")]),
            ("pre_register", 1, [("blueprint_id", c_u64, "u64")]),
            (
                "register",
                2,
                [
                    ("blueprint_id", c_u64, "u64"),
                    ("preferences", prefs, "OperatorPreferences"),
                    ("registration_args", vec_field, "Vec<Field>"),
                    ("value", c_u128, "BalanceOf<T>"),
                ],
            ),
            (
                "request",
                4,
                [
                    ("evm_origin", opt_h160, "Option<H160>"),
                    ("blueprint_id", c_u64, "u64"),
                    ("permitted_callers", vec_account, "Vec<AccountId>"),
                    ("operators", vec_account, "Vec<AccountId>"),
                    ("request_args", vec_field, "Vec<Field>"),
                    ("asset_security_requirements", vec_req, "Vec<AssetSecurityRequirement>"),
                    ("ttl", c_u64, "BlockNumber"),
                    ("payment_asset", asset, "Asset"),
                    ("value", c_u128, "BalanceOf<T>"),
                    ("membership_model", membership, "MembershipModel"),
                ],
            ),
            (
                "approve",
                5,
                [("request_id", c_u64, "u64"), ("security_commitments", vec_commit, "Vec<AssetSecurityCommitment>")],
            ),
            ("reject", 6, [("request_id", c_u64, "u64")]),
            ("terminate", 7, [("service_id", c_u64, "u64")]),
            ("call", 8, [("service_id", c_u64, "u64"), ("job", c_u8, "u8"), ("args", vec_field, "Vec<Field>")]),
            (
                "submit_result",
                9,
                [("service_id", c_u64, "u64"), ("call_id", c_u64, "u64"), ("result", vec_field, "Vec<Field>")],
            ),
        ],
    )
    acc: Field = ("owner", account, "AccountId")
    event = b.variant(
        "pallet_services::module::Event",
        [
            ("BlueprintCreated", 0, [acc, ("blueprint_id", u64, "u64")]),
            ("PreRegistration", 1, [("operator", account, "AccountId"), ("blueprint_id", u64, "u64")]),
            (
                "Registered",
                2,
                [
                    ("provider", account, "AccountId"),
                    ("blueprint_id", u64, "u64"),
                    ("preferences", prefs, "OperatorPreferences"),
                    ("registration_args", vec_field, "Vec<Field>"),
                ],
            ),
            (
                "ServiceRequested",
                3,
                [
                    acc,
                    ("request_id", u64, "u64"),
                    ("blueprint_id", u64, "u64"),
                    ("pending_approvals", vec_account, "Vec<AccountId>"),
                    ("approved", vec_account, "Vec<AccountId>"),
                ],
            ),
            (
                "ServiceRequestApproved",
                4,
                [
                    ("operator", account, "AccountId"),
                    ("request_id", u64, "u64"),
                    ("blueprint_id", u64, "u64"),
                    ("pending_approvals", vec_account, "Vec<AccountId>"),
                    ("approved", vec_account, "Vec<AccountId>"),
                ],
            ),
            (
                "ServiceInitiated",
                5,
                [acc, ("request_id", u64, "u64"), ("service_id", u64, "u64"), ("blueprint_id", u64, "u64")],
            ),
            ("ServiceTerminated", 6, [acc, ("service_id", u64, "u64"), ("blueprint_id", u64, "u64")]),
            (
                "JobCalled",
                7,
                [
                    ("caller", account, "AccountId"),
                    ("service_id", u64, "u64"),
                    ("call_id", u64, "u64"),
                    ("job", u8, "u8"),
                    ("args", vec_field, "Vec<Field>"),
                ],
            ),
            (
                "JobResultSubmitted",
                8,
                [
                    ("operator", account, "AccountId"),
                    ("service_id", u64, "u64"),
                    ("call_id", u64, "u64"),
                    ("job", u8, "u8"),
                    ("result", vec_field, "Vec<Field>"),
                ],
            ),
            ("ServiceRequestRejected", 9, [("operator", account, "AccountId"), ("request_id", u64, "u64")]),
        ],
    )
    error = b.simple_enum("pallet_services::module::Error", SERVICES_ERRORS)
    return ServicesTypes(
        call=call,
        event=event,
        error=error,
        blueprint_entry=b.tup(account, blueprint),
        blueprint=blueprint,
        preferences=prefs,
        request=request,
        service=service,
        job_call=job_call,
        job_result=job_result,
    )
