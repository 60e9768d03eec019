"""The sync client is generated from the async one and must not drift from it."""

from __future__ import annotations

import inspect

from faas_sdk import AsyncExecutionStream, AsyncFaaSClient, ExecutionStream, FaaSClient
from faas_sdk._unasync import SOURCE, TARGET, generate, main

RENAMED = {"aclose": "close", "__aenter__": "__enter__", "__aexit__": "__exit__"}
RENAMED |= {"__aiter__": "__iter__", "__anext__": "__next__"}


def test_the_generated_sync_client_is_up_to_date() -> None:
    assert main(["--check"]) == 0, "run `python -m faas_sdk._unasync`"
    assert TARGET.read_text() == generate(SOURCE.read_text())


def test_the_generated_code_has_no_async_left() -> None:
    sync = TARGET.read_text()
    for word in ("await ", "async def", "asyncio", "AsyncClient", "StopAsyncIteration"):
        assert word not in sync


def public_surface(kind: type) -> dict[str, list[str]]:
    members = inspect.getmembers(
        kind, predicate=lambda member: inspect.isfunction(member) or isinstance(member, property)
    )
    return {
        RENAMED.get(name, name): list(inspect.signature(member).parameters) if inspect.isfunction(member) else []
        for name, member in members
        if not name.startswith("_") or name in RENAMED or name in RENAMED.values() or name == "__init__"
    }


def test_both_clients_offer_the_same_methods_with_the_same_parameters() -> None:
    assert public_surface(FaaSClient) == public_surface(AsyncFaaSClient)
    assert public_surface(ExecutionStream) == public_surface(AsyncExecutionStream)
    assert {"execute", "get_execution", "stream", "close", "__enter__"} <= set(public_surface(FaaSClient))
    assert {"create_snapshot", "restore_snapshot", "create_branch", "merge_branches"} <= set(public_surface(FaaSClient))
    assert {"send_input", "resize", "unsubscribe", "close", "__next__"} <= set(public_surface(ExecutionStream))
