"""Service layer: the one place both doors (REST API, chain operator) call into."""

from service.api_keys import ApiKeyService, CreatedKey, KeyInfo, KeyOptions, Principal
from service.billing import BillingService
from service.config import Settings
from service.errors import (
    Conflict,
    ExecutionTimedOut,
    Forbidden,
    InsufficientResources,
    InternalError,
    InvalidRequest,
    NotFound,
    PaymentRequired,
    ServiceError,
    Unauthorized,
)
from service.executions import ExecutionService
from service.node import Node, open_node
from service.records import ExecutionRecord
from service.requests import ExecutionRequest, RequestedResources
from service.usage import CurrentUsage, Period, UsageReport, UsageService, parse_period

__all__ = [
    "ApiKeyService",
    "BillingService",
    "Conflict",
    "CreatedKey",
    "CurrentUsage",
    "ExecutionRecord",
    "ExecutionRequest",
    "ExecutionService",
    "ExecutionTimedOut",
    "Forbidden",
    "InsufficientResources",
    "InternalError",
    "InvalidRequest",
    "KeyInfo",
    "KeyOptions",
    "Node",
    "NotFound",
    "PaymentRequired",
    "Period",
    "Principal",
    "RequestedResources",
    "ServiceError",
    "Settings",
    "Unauthorized",
    "UsageReport",
    "UsageService",
    "open_node",
    "parse_period",
]
