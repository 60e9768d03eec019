"""The operator node: the REST API and the chain listener in one process, over one service layer.

app = operator_app(settings, OperatorSettings(chain_url=..., account=..., role_key=...))
uvicorn.run(app, ...)
"""

from operator_node.app import operator_app
from operator_node.jobs import JobOutput, JobRunner, tenant_of
from operator_node.operator import ChainOperator, OperatorSettings, assigned_operator
from operator_node.role_key import load_or_create_role_key

__all__ = [
    "ChainOperator",
    "JobOutput",
    "JobRunner",
    "OperatorSettings",
    "assigned_operator",
    "load_or_create_role_key",
    "operator_app",
    "tenant_of",
]
