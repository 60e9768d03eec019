"""The chain package's errors, and the one table from substrate-interface's errors to them.

ChainError
├── ChainConnectionError    the node cannot be reached (after retries), or the connection broke
├── ChainRequestError       the node refused an RPC request (bad params, unknown block, invalid transaction)
├── ExtrinsicFailedError    the extrinsic was included but failed; ``.error_message`` has the pallet error
├── ChainTimeoutError       what we waited for did not happen in time
├── ChainDataError          the chain holds something we cannot read (missing record, unexpected shape)
└── KeyFormatError          a secret URI, seed or mnemonic is unusable
"""

from __future__ import annotations

from json import JSONDecodeError
from typing import Any

from substrateinterface.exceptions import BlockNotFound, SubstrateRequestException
from websocket import WebSocketException


class ChainError(Exception):
    """Root of every error the chain package raises."""


class ChainConnectionError(ChainError):
    """The node cannot be reached, or the connection broke mid-request."""


class ChainRequestError(ChainError):
    """The node refused a request (bad parameters, unknown block, invalid transaction)."""


class ExtrinsicFailedError(ChainError):
    """An extrinsic was included in a block but its dispatch failed.

    Attributes:
        error_message: substrate-interface's description, e.g. ``{"name": "TypeCheck", ...}``.
        block_hash: The block that included it.
    """

    def __init__(self, message: str, *, error_message: Any = None, block_hash: str | None = None) -> None:
        super().__init__(message)
        self.error_message = error_message
        self.block_hash = block_hash


class ChainTimeoutError(ChainError):
    """What we waited for (a block, a job result) did not happen in time."""


class ChainDataError(ChainError):
    """Something on chain is missing or not shaped as the contract says."""


class KeyFormatError(ChainError):
    """A secret URI, seed or mnemonic is unusable."""


# A websocket closing under substrate-interface shows as an empty frame it fails to parse as JSON.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (ConnectionError, OSError, WebSocketException, JSONDecodeError)


def translate(exc: BaseException) -> ChainError:
    """Our error for an exception raised by substrate-interface or its websocket."""
    if isinstance(exc, ChainError):
        return exc
    if isinstance(exc, SubstrateRequestException | BlockNotFound):
        return ChainRequestError(f"the node refused the request: {_describe(exc)}")
    if isinstance(exc, CONNECTION_ERRORS):
        return ChainConnectionError(f"the connection to the node failed: {exc!r}")
    return ChainRequestError(f"unexpected answer from the node: {exc!r}")


def _describe(exc: BaseException) -> str:
    detail = exc.args[0] if exc.args else exc
    if isinstance(detail, dict):
        return str(detail.get("message", detail)) + (f" ({detail['data']})" if detail.get("data") else "")
    return str(detail)
