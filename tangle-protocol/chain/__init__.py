"""Substrate client for the Services pallet: connection (``ChainClient``) and jobs (``ServicesClient``).

    chain = ChainClient("ws://127.0.0.1:9944").connect()
    services = ServicesClient(chain)
    for call in services.finalized_job_calls(10, chain.finalized_number()):
        ...
    services.submit_result(load_keypair("//Bob"), call.service_id, call.call_id, job_result)

Blocking (substrate-interface is); asyncio code uses ``AsyncServicesClient``.
"""

from chain._errors import (
    ChainConnectionError,
    ChainDataError,
    ChainError,
    ChainRequestError,
    ChainTimeoutError,
    ExtrinsicFailedError,
    KeyFormatError,
)
from chain.aio import AsyncServicesClient
from chain.client import ChainClient, SentExtrinsic
from chain.keys import SS58_FORMAT, load_keypair
from chain.models import JobCallEvent, JobCallRecord, JobResultEvent, OperatorPreferences, ServiceInstance
from chain.services import ServicesClient

__all__ = [
    "SS58_FORMAT",
    "AsyncServicesClient",
    "ChainClient",
    "ChainConnectionError",
    "ChainDataError",
    "ChainError",
    "ChainRequestError",
    "ChainTimeoutError",
    "ExtrinsicFailedError",
    "JobCallEvent",
    "JobCallRecord",
    "JobResultEvent",
    "KeyFormatError",
    "OperatorPreferences",
    "SentExtrinsic",
    "ServiceInstance",
    "ServicesClient",
    "load_keypair",
]
