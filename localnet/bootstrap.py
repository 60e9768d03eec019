"""Set up a service on a chain as any client would: create blueprint, register, request, approve."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class OperatorRegistration:
    """An operator to register: its account, its 65-byte secp256k1 role key, and its REST address."""

    account: Keypair
    role_key: bytes
    rpc_address: str

    def preferences(self) -> dict[str, str]:
        if len(self.role_key) != 65:
            raise ValueError("a role key is a 65-byte uncompressed secp256k1 public key")
        return {"key": "0x" + self.role_key.hex(), "rpc_address": self.rpc_address}


def _existing_service(
    substrate: SubstrateInterface, blueprint: dict[str, Any], operators: Sequence[OperatorRegistration]
) -> tuple[int, int] | None:
    """A service of a blueprint with the same metadata name, run by exactly these operators as registered."""
    name = blueprint["metadata"]["name"]
    wanted = [operator.account.ss58_address for operator in operators]
    for service_id, service in substrate.query_map("Services", "Instances"):
        value = service.value
        if [str(op) for op, _ in value["operator_security_commitments"]] != wanted:
            continue
        stored = substrate.query("Services", "Blueprints", [value["blueprint"]]).value
        if stored is None or stored[1]["metadata"]["name"] != name:
            continue
        registered = [
            substrate.query("Services", "Operators", [value["blueprint"], operator.account.ss58_address]).value
            for operator in operators
        ]
        if registered == [operator.preferences() for operator in operators]:
            return int(value["blueprint"]), int(service_id.value)
    return None


def bootstrap_service(
    url: str,
    blueprint: dict[str, Any],
    operators: Sequence[OperatorRegistration],
    *,
    owner: Keypair | None = None,
    permitted_callers: list[str] | None = None,
    ttl: int = 0,
) -> tuple[int, int]:
    """Create ``blueprint``, register each operator, request a service run by all of them, have each approve.

    Idempotent: a service of a blueprint of the same name with exactly these operators, registered
    the same way, is returned instead. ``permitted_callers`` empty means anyone may call jobs.
    Returns ``(blueprint_id, service_id)``.
    """
    owner = owner or Keypair.create_from_uri("//Alice")
    substrate = SubstrateInterface(url=url)
    try:
        existing = _existing_service(substrate, blueprint, operators)
        if existing is not None:  # a chain kept with --base-path: bootstrapped before, nothing to redo
            return existing
        events = _submit(substrate, owner, "create_blueprint", {"blueprint": blueprint})
        blueprint_id = int(_event(events, "BlueprintCreated")["blueprint_id"])
        for operator in operators:
            registration = {
                "blueprint_id": blueprint_id,
                "preferences": operator.preferences(),
                "registration_args": [],
                "value": 0,
            }
            _submit(substrate, operator.account, "register", registration)
        request = {
            "evm_origin": None,
            "blueprint_id": blueprint_id,
            "permitted_callers": list(permitted_callers or []),
            "operators": [operator.account.ss58_address for operator in operators],
            "request_args": [],
            "asset_security_requirements": [],
            "ttl": ttl,
            "payment_asset": {"Custom": 0},
            "value": 0,
            "membership_model": {"Fixed": {"min_operators": len(operators)}},
        }
        events = _submit(substrate, owner, "request", request)
        request_id = int(_event(events, "ServiceRequested")["request_id"])
        for operator in operators:  # the last approval initiates the service
            approval = {"request_id": request_id, "security_commitments": []}
            events = _submit(substrate, operator.account, "approve", approval)
        service_id = int(_event(events, "ServiceInitiated")["service_id"])
        return blueprint_id, service_id
    except SubstrateRequestException as exc:
        raise BootstrapError(f"bootstrap rejected by the node: {exc}") from exc
    finally:
        substrate.close()
