"""Assembly of the operator node: the API app with the chain operator as its companion task."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from api import create_app
from operator_node.jobs import JobRunner
from operator_node.operator import ChainOperator, OperatorSettings
from service import Node, Settings


def operator_app(
    settings: Settings,
    operator: OperatorSettings,
    *,
    caller_credits: float = 1_000_000.0,
    on_ready: Callable[[Node], None] | None = None,
    on_operator: Callable[[ChainOperator], None] | None = None,
) -> FastAPI:
    """The REST API app whose lifespan also runs the chain operator over the same node.

    Args:
        caller_credits: credits of the tenant each chain caller gets on its first job (payment for
            jobs is the service's business on chain; the node still meters and records each run).
        on_operator: called with the operator once it exists (tests wait on its ``ready`` event).
    """

    async def run_operator(node: Node) -> None:
        chain_operator = ChainOperator(operator, node.chain_jobs, JobRunner(node, caller_credits=caller_credits))
        if on_operator is not None:
            on_operator(chain_operator)
        await chain_operator.run()

    return create_app(settings, on_ready=on_ready, companion=run_operator)
