"""Set up a service on a chain as any client would: create blueprint, register, request, approve."""

from __future__ import annotations

from typing import Any

from substrateinterface import Keypair, SubstrateInterface
from substrateinterface.exceptions import SubstrateRequestException


class BootstrapError(RuntimeError):
    """A bootstrap extrinsic failed on chain."""


def _submit(substrate: SubstrateInterface, who: Keypair, function: str, params: dict[str, Any]) -> list[Any]:
    call = substrate.compose_call("Services", function, params)
    extrinsic = substrate.create_signed_extrinsic(call, who)
    receipt = substrate.submit_extrinsic(extrinsic, wait_for_inclusion=True)
    if not receipt.is_success:
        raise BootstrapError(f"Services.{function} failed: {receipt.error_message}")
    return list(receipt.triggered_events)


def _event(events: list[Any], name: str) -> dict[str, Any]:
    for event in events:
        value = event.value
        if value["module_id"] == "Services" and value["event_id"] == name:
            return dict(value["attributes"])
    raise BootstrapError(f"no Services.{name} event")


def _existing_service(
    substrate: SubstrateInterface, blueprint: dict[str, Any], operator: str, key: str, rpc_address: str
) -> tuple[int, int] | None:
    """A service of a blueprint with the same metadata name, run by ``operator`` with this key and address."""
    name = blueprint["metadata"]["name"]
    for service_id, service in substrate.query_map("Services", "Instances"):
        value = service.value
        operators = [str(op) for op, _ in value["operator_security_commitments"]]
        if operator not in operators:
            continue
        stored = substrate.query("Services", "Blueprints", [value["blueprint"]]).value
        if stored is None or stored[1]["metadata"]["name"] != name:
            continue
        preferences = substrate.query("Services", "Operators", [value["blueprint"], operator]).value
        if preferences and preferences["key"] == key and preferences["rpc_address"] == rpc_address:
            return int(value["blueprint"]), int(service_id.value)
    return None


def bootstrap_service(
    url: str,
    blueprint: dict[str, Any],
    *,
    role_key: str | bytes,
    rpc_address: str,
    owner: Keypair | None = None,
    operator: Keypair | None = None,
    permitted_callers: list[str] | None = None,
    ttl: int = 0,
) -> tuple[int, int]:
    """Create ``blueprint``, register ``operator`` with its role key, request and approve a service.

    ``permitted_callers`` empty means anyone may call jobs. Returns ``(blueprint_id, service_id)``.
    """
    owner = owner or Keypair.create_from_uri("//Alice")
    operator = operator or Keypair.create_from_uri("//Alice")
    key = role_key if isinstance(role_key, str) else "0x" + role_key.hex()
    if len(bytes.fromhex(key.removeprefix("0x"))) != 65:
        raise ValueError("role_key must be a 65-byte uncompressed secp256k1 public key")
    substrate = SubstrateInterface(url=url)
    try:
        existing = _existing_service(substrate, blueprint, operator.ss58_address, key, rpc_address)
        if existing is not None:  # a chain kept with --base-path: bootstrapped before, nothing to redo
            return existing
        events = _submit(substrate, owner, "create_blueprint", {"blueprint": blueprint})
        blueprint_id = int(_event(events, "BlueprintCreated")["blueprint_id"])
        prefs = {"key": key, "rpc_address": rpc_address}
        _submit(
            substrate,
            operator,
            "register",
            {"blueprint_id": blueprint_id, "preferences": prefs, "registration_args": [], "value": 0},
        )
        request = {
            "evm_origin": None,
            "blueprint_id": blueprint_id,
            "permitted_callers": list(permitted_callers or []),
            "operators": [operator.ss58_address],
            "request_args": [],
            "asset_security_requirements": [],
            "ttl": ttl,
            "payment_asset": {"Custom": 0},
            "value": 0,
            "membership_model": {"Fixed": {"min_operators": 1}},
        }
        events = _submit(substrate, owner, "request", request)
        request_id = int(_event(events, "ServiceRequested")["request_id"])
        events = _submit(substrate, operator, "approve", {"request_id": request_id, "security_commitments": []})
        service_id = int(_event(events, "ServiceInitiated")["service_id"])
        return blueprint_id, service_id
    except SubstrateRequestException as exc:
        raise BootstrapError(f"bootstrap rejected by the node: {exc}") from exc
    finally:
        substrate.close()
