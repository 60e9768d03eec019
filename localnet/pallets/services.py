"""pallet_services: blueprints, operator registration, service requests, job calls and results."""

from __future__ import annotations

from typing import Any

from localnet.pallets import Ctx, DispatchFailure, bad_origin, module_error
from localnet.pallets.fields import MAX_FIELD_BYTES, MAX_FIELDS, type_check
from localnet.scale import codec

FIELD_TYPE = "tangle_primitives::services::field::field"


def _err(name: str) -> DispatchFailure:
    return module_error("Services", name)


def _next_id(ctx: Ctx, item: str) -> int:
    current = int(ctx.state.read_or(0, "Services", item))
    ctx.state.write("Services", item, current + 1)
    return current


def _check_limits(fields: list[Any]) -> None:
    if len(fields) > MAX_FIELDS:
        raise _err("MaxFieldsExceeded")
    for field in fields:
        if len(codec().encode(FIELD_TYPE, field)) > MAX_FIELD_BYTES:
            raise _err("FieldTooLarge")


def _blueprint(ctx: Ctx, blueprint_id: int) -> tuple[str, dict[str, Any]]:
    entry = ctx.state.read("Services", "Blueprints", blueprint_id)
    if entry is None:
        raise _err("BlueprintNotFound")
    return str(entry[0]), dict(entry[1])


def create_blueprint(ctx: Ctx, args: dict[str, Any]) -> None:
    owner = ctx.signer()
    blueprint = args["blueprint"]
    blueprint_id = _next_id(ctx, "NextBlueprintId")
    ctx.state.write("Services", "Blueprints", blueprint_id, (owner, blueprint))
    ctx.deposit("Services", "BlueprintCreated", {"owner": owner, "blueprint_id": blueprint_id})


def pre_register(ctx: Ctx, args: dict[str, Any]) -> None:
    operator = ctx.signer()
    blueprint_id = int(args["blueprint_id"])
    _blueprint(ctx, blueprint_id)
    ctx.deposit("Services", "PreRegistration", {"operator": operator, "blueprint_id": blueprint_id})


def register(ctx: Ctx, args: dict[str, Any]) -> None:
    operator = ctx.signer()
    blueprint_id = int(args["blueprint_id"])
    _, blueprint = _blueprint(ctx, blueprint_id)
    if ctx.state.read("Services", "Operators", blueprint_id, operator) is not None:
        raise _err("AlreadyRegistered")
    reg_args = list(args["registration_args"])
    _check_limits(reg_args)
    if not type_check(reg_args, list(blueprint["registration_params"])):
        raise _err("InvalidRegistrationInput")
    prefs = args["preferences"]
    key = str(prefs["key"])
    if not key.startswith("0x04") or len(key) != 132:
        raise _err("InvalidRegistrationInput")
    ctx.state.write("Services", "Operators", blueprint_id, operator, prefs)
    ctx.deposit(
        "Services",
        "Registered",
        {"provider": operator, "blueprint_id": blueprint_id, "preferences": prefs, "registration_args": reg_args},
    )


def request(ctx: Ctx, args: dict[str, Any]) -> None:
    owner = ctx.signer()
    blueprint_id = int(args["blueprint_id"])
    _, blueprint = _blueprint(ctx, blueprint_id)
    operators = [str(a).lower() for a in args["operators"]]
    if not operators or len(set(operators)) != len(operators):
        raise _err("InvalidRequestInput")
    for operator in operators:
        if ctx.state.read("Services", "Operators", blueprint_id, operator) is None:
            raise _err("NotRegistered")
    request_args = list(args["request_args"])
    _check_limits(request_args)
    if not type_check(request_args, list(blueprint["request_params"])):
        raise _err("InvalidRequestInput")
    callers = [str(a).lower() for a in args["permitted_callers"]]
    if len(callers) > 64:
        raise _err("MaxPermittedCallersExceeded")
    request_id = _next_id(ctx, "NextServiceRequestId")
    value = {
        "blueprint": blueprint_id,
        "owner": owner,
        "security_requirements": list(args["asset_security_requirements"]),
        "ttl": int(args["ttl"]),
        "args": request_args,
        "permitted_callers": callers,
        "operators_with_approval_state": [(op, False) for op in operators],
        "membership_model": args["membership_model"],
    }
    ctx.state.write("Services", "ServiceRequests", request_id, value)
    ctx.deposit(
        "Services",
        "ServiceRequested",
        {
            "owner": owner,
            "request_id": request_id,
            "blueprint_id": blueprint_id,
            "pending_approvals": operators,
            "approved": [],
        },
    )


def _request(ctx: Ctx, request_id: int) -> dict[str, Any]:
    value = ctx.state.read("Services", "ServiceRequests", request_id)
    if value is None:
        raise _err("ServiceRequestNotFound")
    return dict(value)


def approve(ctx: Ctx, args: dict[str, Any]) -> None:
    operator = ctx.signer()
    request_id = int(args["request_id"])
    req = _request(ctx, request_id)
    states = [(str(op), bool(ok)) for op, ok in req["operators_with_approval_state"]]
    if operator not in [op for op, _ in states]:
        raise _err("ApprovalNotRequested")
    states = [(op, ok or op == operator) for op, ok in states]
    req["operators_with_approval_state"] = states
    approved = [op for op, ok in states if ok]
    pending = [op for op, ok in states if not ok]
    blueprint_id = int(req["blueprint"])
    ctx.deposit(
        "Services",
        "ServiceRequestApproved",
        {
            "operator": operator,
            "request_id": request_id,
            "blueprint_id": blueprint_id,
            "pending_approvals": pending,
            "approved": approved,
        },
    )
    if pending:
        ctx.state.write("Services", "ServiceRequests", request_id, req)
        return
    ctx.state.remove("Services", "ServiceRequests", request_id)
    service_id = _next_id(ctx, "NextInstanceId")
    commitments = list(args["security_commitments"])
    service = {
        "id": service_id,
        "blueprint": blueprint_id,
        "owner": req["owner"],
        "operator_security_commitments": [(op, commitments if op == operator else []) for op in approved],
        "security_requirements": req["security_requirements"],
        "permitted_callers": req["permitted_callers"],
        "ttl": req["ttl"],
        "membership_model": req["membership_model"],
    }
    ctx.state.write("Services", "Instances", service_id, service)
    ctx.deposit(
        "Services",
        "ServiceInitiated",
        {"owner": req["owner"], "request_id": request_id, "service_id": service_id, "blueprint_id": blueprint_id},
    )


def reject(ctx: Ctx, args: dict[str, Any]) -> None:
    operator = ctx.signer()
    request_id = int(args["request_id"])
    req = _request(ctx, request_id)
    if operator not in [str(op) for op, _ in req["operators_with_approval_state"]]:
        raise _err("ApprovalNotRequested")
    ctx.state.remove("Services", "ServiceRequests", request_id)
    ctx.deposit("Services", "ServiceRequestRejected", {"operator": operator, "request_id": request_id})


def _service(ctx: Ctx, service_id: int) -> dict[str, Any]:
    value = ctx.state.read("Services", "Instances", service_id)
    if value is None:
        raise _err("ServiceNotFound")
    return dict(value)


def terminate(ctx: Ctx, args: dict[str, Any]) -> None:
    owner = ctx.signer()
    service_id = int(args["service_id"])
    service = _service(ctx, service_id)
    if str(service["owner"]) != owner:
        raise bad_origin()
    ctx.state.remove("Services", "Instances", service_id)
    ctx.deposit(
        "Services",
        "ServiceTerminated",
        {"owner": owner, "service_id": service_id, "blueprint_id": int(service["blueprint"])},
    )


def _job(ctx: Ctx, service: dict[str, Any], job: int) -> dict[str, Any]:
    _, blueprint = _blueprint(ctx, int(service["blueprint"]))
    jobs = list(blueprint["jobs"])
    if job >= len(jobs):
        raise _err("JobDefinitionNotFound")
    return dict(jobs[job])


def call(ctx: Ctx, args: dict[str, Any]) -> None:
    caller = ctx.signer()
    service_id, job = int(args["service_id"]), int(args["job"])
    service = _service(ctx, service_id)
    callers = [str(c) for c in service["permitted_callers"]]
    if callers and caller not in callers and caller != str(service["owner"]):
        raise _err("NotAllowedToCall")
    job_def = _job(ctx, service, job)
    call_args = list(args["args"])
    _check_limits(call_args)
    if not type_check(call_args, list(job_def["params"])):
        raise _err("InvalidJobCallInput")
    call_id = _next_id(ctx, "NextJobCallId")
    ctx.state.write(
        "Services", "JobCalls", service_id, call_id, {"service_id": service_id, "job": job, "args": call_args}
    )
    ctx.deposit(
        "Services",
        "JobCalled",
        {"caller": caller, "service_id": service_id, "call_id": call_id, "job": job, "args": call_args},
    )


def submit_result(ctx: Ctx, args: dict[str, Any]) -> None:
    operator = ctx.signer()
    service_id, call_id = int(args["service_id"]), int(args["call_id"])
    service = _service(ctx, service_id)
    if operator not in [str(op) for op, _ in service["operator_security_commitments"]]:
        raise _err("NotRegistered")
    job_call = ctx.state.read("Services", "JobCalls", service_id, call_id)
    if job_call is None:
        raise _err("ServiceOrJobCallNotFound")
    job = int(job_call["job"])
    job_def = _job(ctx, service, job)
    result = list(args["result"])
    _check_limits(result)
    if not type_check(result, list(job_def["result"])):
        raise _err("InvalidJobResult")
    value = {"service_id": service_id, "call_id": call_id, "result": result}
    ctx.state.write("Services", "JobResults", service_id, call_id, value)
    ctx.deposit(
        "Services",
        "JobResultSubmitted",
        {"operator": operator, "service_id": service_id, "call_id": call_id, "job": job, "result": result},
    )


_CALLS = {
    "create_blueprint": create_blueprint,
    "pre_register": pre_register,
    "register": register,
    "request": request,
    "approve": approve,
    "reject": reject,
    "terminate": terminate,
    "call": call,
    "submit_result": submit_result,
}


def dispatch(ctx: Ctx, function: str, args: dict[str, Any]) -> None:
    handler = _CALLS.get(function)
    if handler is None:
        raise DispatchFailure("CannotLookup", "CannotLookup")
    handler(ctx, args)
