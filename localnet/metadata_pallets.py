"""Pallet descriptions (storage, calls, events, constants, errors) of the V14 metadata."""

from __future__ import annotations

from typing import Any

from localnet.metadata_services import ServicesTypes
from localnet.typebuilder import TypeBuilder

BLOCK_HASH_COUNT = 4096
SS58_PREFIX = 42
EXISTENTIAL_DEPOSIT = 10**15


def _entry(name: str, ty: dict[str, Any], default: str = "0x00", optional: bool = False) -> dict[str, Any]:
    return {
        "name": name,
        "modifier": "Optional" if optional else "Default",
        "type": ty,
        "default": default,
        "documentation": [],
    }


def _map(hashers: list[str], key: int, value: int) -> dict[str, Any]:
    return {"Map": {"hashers": hashers, "key": key, "value": value}}


def pallet_descriptions(
    *,
    account: int,
    account_info: int,
    u32: int,
    h256: int,
    vec_events: int,
    system_call: int,
    system_event: int,
    u16: int,
    system_error: int,
    u64: int,
    timestamp_call: int,
    u128: int,
    balances_call: int,
    balances_event: int,
    balances_error: int,
    svc: ServicesTypes,
    b: TypeBuilder,
) -> list[dict[str, Any]]:
    b2c = ["Blake2_128Concat"]
    b2c2 = ["Blake2_128Concat", "Blake2_128Concat"]
    u64_pair = b.tup(u64, u64)
    zero_info = "0x" + "00" * (16 + 64)
    pallets: list[dict[str, Any]] = [
        {
            "name": "System",
            "storage": {
                "prefix": "System",
                "entries": [
                    _entry("Account", _map(b2c, account, account_info), zero_info),
                    _entry("Number", {"Plain": u32}, "0x00000000"),
                    _entry("ParentHash", {"Plain": h256}, "0x" + "00" * 32),
                    _entry("BlockHash", _map(["Twox64Concat"], u32, h256), "0x" + "00" * 32),
                    _entry("Events", {"Plain": vec_events}, "0x00"),
                    _entry("EventCount", {"Plain": u32}, "0x00000000"),
                ],
            },
            "calls": {"ty": system_call},
            "event": {"ty": system_event},
            "constants": [
                {
                    "name": "BlockHashCount",
                    "type": u32,
                    "value": "0x" + BLOCK_HASH_COUNT.to_bytes(4, "little").hex(),
                    "documentation": [],
                },
                {
                    "name": "SS58Prefix",
                    "type": u16,
                    "value": "0x" + SS58_PREFIX.to_bytes(2, "little").hex(),
                    "documentation": [],
                },
            ],
            "error": {"ty": system_error},
            "index": 0,
        },
        {
            "name": "Timestamp",
            "storage": {"prefix": "Timestamp", "entries": [_entry("Now", {"Plain": u64}, "0x" + "00" * 8)]},
            "calls": {"ty": timestamp_call},
            "event": None,
            "constants": [
                {
                    "name": "MinimumPeriod",
                    "type": u64,
                    "value": "0x" + (0).to_bytes(8, "little").hex(),
                    "documentation": [],
                }
            ],
            "error": None,
            "index": 1,
        },
        {
            "name": "Balances",
            "storage": {"prefix": "Balances", "entries": [_entry("TotalIssuance", {"Plain": u128}, "0x" + "00" * 16)]},
            "calls": {"ty": balances_call},
            "event": {"ty": balances_event},
            "constants": [
                {
                    "name": "ExistentialDeposit",
                    "type": u128,
                    "value": "0x" + EXISTENTIAL_DEPOSIT.to_bytes(16, "little").hex(),
                    "documentation": [],
                }
            ],
            "error": {"ty": balances_error},
            "index": 5,
        },
        {
            "name": "Services",
            "storage": {
                "prefix": "Services",
                "entries": [
                    _entry("NextBlueprintId", {"Plain": u64}, "0x" + "00" * 8),
                    _entry("NextServiceRequestId", {"Plain": u64}, "0x" + "00" * 8),
                    _entry("NextInstanceId", {"Plain": u64}, "0x" + "00" * 8),
                    _entry("NextJobCallId", {"Plain": u64}, "0x" + "00" * 8),
                    _entry("Blueprints", _map(b2c, u64, svc.blueprint_entry), "0x00", optional=True),
                    _entry("Operators", _map(b2c2, b.tup(u64, account), svc.preferences), "0x00", optional=True),
                    _entry("ServiceRequests", _map(b2c, u64, svc.request), "0x00", optional=True),
                    _entry("Instances", _map(b2c, u64, svc.service), "0x00", optional=True),
                    _entry("JobCalls", _map(b2c2, u64_pair, svc.job_call), "0x00", optional=True),
                    _entry("JobResults", _map(b2c2, u64_pair, svc.job_result), "0x00", optional=True),
                ],
            },
            "calls": {"ty": svc.call},
            "event": {"ty": svc.event},
            "constants": [],
            "error": {"ty": svc.error},
            "index": 51,
        },
    ]
    return pallets
