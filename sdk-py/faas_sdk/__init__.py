"""Python SDK of the FaaS REST API.

    from faas_sdk import FaaSClient

    client = FaaSClient(api_key=os.environ["FAAS_API_KEY"])
    result = client.execute(code="print('Hello World')", language="python")
    print(result.stdout)

    # State that lives on: an instance, its snapshots, branches of them.
    first = client.execute(code="x = 41", language="python", mode="persistent")
    snapshot = client.create_snapshot(instance_id=first.instance_id)
    restored = client.restore_snapshot(snapshot.snapshot_id)
    client.execute(code="print(x + 1)", language="python", instance_id=restored.instance_id)

    # Or an instance managed on its own: start, pause, resume, stop.
    instance = client.start_instance(language="python", memory_mb=512)
    client.pause_instance(instance.instance_id)

``AsyncFaaSClient`` is the same client for asyncio (``FaaSClient`` is generated from it).

On chain, ``TangleFaaSClient`` submits jobs with ``Services.call`` and verifies the operator's signed
result (``from faas_sdk import TangleFaaSClient``; it loads substrate-interface on first use).
"""

from typing import TYPE_CHECKING, Any

from faas_sdk._async.client import AsyncExecutionStream, AsyncFaaSClient
from faas_sdk._exceptions import (
    AuthenticationError,
    ConflictError,
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
    Branch,
    BranchPage,
    CompletedEvent,
    Cost,
    DeletedSnapshot,
    ErrorEvent,
    ExecutionResult,
    Instance,
    InstanceEvent,
    InstancePage,
    InstanceResources,
    MergeResult,
    OutputEvent,
    ProgressEvent,
    Resources,
    RestoredSnapshot,
    Snapshot,
    SnapshotPage,
    SshAccess,
    StreamEvent,
    Usage,
)
from faas_sdk._retry import RetryPolicy
from faas_sdk._sync.client import ExecutionStream, FaaSClient
from faas_sdk._version import __version__

if TYPE_CHECKING:
    from faas_sdk.tangle import TangleError, TangleFaaSClient, VerificationError, VerifiedResult

_TANGLE_NAMES = ("TangleError", "TangleFaaSClient", "VerificationError", "VerifiedResult")


def __getattr__(name: str) -> Any:
    # The chain client pulls in substrate-interface; the REST client's users should not pay for it.
    if name in _TANGLE_NAMES:
        try:
            from faas_sdk import tangle
        except ModuleNotFoundError as exc:
            raise ImportError(
                f"faas_sdk.{name} needs the SDK's 'tangle' extra ({exc.name} is not installed): "
                "pip install ./tangle-protocol './sdk-py[tangle]'"
            ) from exc
        return getattr(tangle, name)
    raise AttributeError(f"module 'faas_sdk' has no attribute {name!r}")


__all__ = [
    "AsyncExecutionStream",
    "AsyncFaaSClient",
    "AuthenticationError",
    "Branch",
    "BranchPage",
    "CompletedEvent",
    "ConflictError",
    "Cost",
    "DeletedSnapshot",
    "ErrorEvent",
    "ExecutionResult",
    "ExecutionStream",
    "ExecutionTimeoutError",
    "FaaSClient",
    "FaaSConnectionError",
    "FaaSError",
    "Instance",
    "InstanceEvent",
    "InstancePage",
    "InstanceResources",
    "InsufficientResourcesError",
    "InternalServerError",
    "InvalidRequestError",
    "MergeResult",
    "NotFoundError",
    "OutputEvent",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "ProgressEvent",
    "RateLimitError",
    "Resources",
    "RestoredSnapshot",
    "RetryPolicy",
    "Snapshot",
    "SnapshotPage",
    "SshAccess",
    "StreamEvent",
    "TangleError",
    "TangleFaaSClient",
    "Usage",
    "VerificationError",
    "VerifiedResult",
    "__version__",
]
