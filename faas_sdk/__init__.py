"""Python SDK of the FaaS REST API.

    from faas_sdk import FaaSClient

    client = FaaSClient(api_key=os.environ["FAAS_API_KEY"])
    result = client.execute(code="print('Hello World')", language="python")
    print(result.stdout)

``AsyncFaaSClient`` is the same client for asyncio (``FaaSClient`` is generated from it).
"""

from faas_sdk._async.client import AsyncExecutionStream, AsyncFaaSClient
from faas_sdk._exceptions import (
    AuthenticationError,
    ExecutionTimeoutError,
    FaaSConnectionError,
    FaaSError,
    InsufficientResourcesError,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
)
from faas_sdk._models import (
    CompletedEvent,
    Cost,
    ErrorEvent,
    ExecutionResult,
    OutputEvent,
    ProgressEvent,
    Resources,
    StreamEvent,
    Usage,
)
from faas_sdk._retry import RetryPolicy
from faas_sdk._sync.client import ExecutionStream, FaaSClient
from faas_sdk._version import __version__

__all__ = [
    "AsyncExecutionStream",
    "AsyncFaaSClient",
    "AuthenticationError",
    "CompletedEvent",
    "Cost",
    "ErrorEvent",
    "ExecutionResult",
    "ExecutionStream",
    "ExecutionTimeoutError",
    "FaaSClient",
    "FaaSConnectionError",
    "FaaSError",
    "InsufficientResourcesError",
    "InternalServerError",
    "InvalidRequestError",
    "NotFoundError",
    "OutputEvent",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "ProgressEvent",
    "RateLimitError",
    "Resources",
    "RetryPolicy",
    "StreamEvent",
    "Usage",
    "__version__",
]
