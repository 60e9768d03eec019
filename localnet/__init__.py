"""A local Substrate-compatible development chain with Tangle's Services pallet, for substrate-interface."""

from localnet.bootstrap import BootstrapError, OperatorRegistration, bootstrap_service
from localnet.chain import Chain
from localnet.genesis import DEV_ACCOUNTS, dev_account
from localnet.metadata import PALLET_INDEX, SPEC_VERSION, TRANSACTION_VERSION, metadata_bytes
from localnet.node import LocalnetNode
from localnet.testing import RunningLocalnet, free_port, running_localnet

__all__ = [
    "DEV_ACCOUNTS",
    "PALLET_INDEX",
    "SPEC_VERSION",
    "TRANSACTION_VERSION",
    "BootstrapError",
    "Chain",
    "LocalnetNode",
    "OperatorRegistration",
    "RunningLocalnet",
    "bootstrap_service",
    "dev_account",
    "free_port",
    "metadata_bytes",
    "running_localnet",
]
