"""Service layer: the one place both doors (REST API, chain operator) call into."""

from service.api_keys import ApiKeyService, Principal
from service.config import Settings
from service.errors import (
    ExecutionTimedOut,
    Forbidden,
    InsufficientResources,
    InternalError,
    InvalidRequest,
    NotFound,
    ServiceError,
    Unauthorized,
)
from service.executions import ExecutionService
from service.node import Node, open_node
from service.records import ExecutionRecord
from service.requests import ExecutionRequest, RequestedResources

__all__ = [
    "ApiKeyService",
    "ExecutionRecord",
    "ExecutionRequest",
    "ExecutionService",
    "ExecutionTimedOut",
    "Forbidden",
    "InsufficientResources",
    "InternalError",
    "InvalidRequest",
    "Node",
    "NotFound",
    "Principal",
    "RequestedResources",
    "ServiceError",
    "Settings",
    "Unauthorized",
    "open_node",
]
