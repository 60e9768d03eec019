"""The raw driver: one substrate-interface connection with retrying connect, a lock, and our errors.

Blocking by design (substrate-interface is); async code calls it through ``asyncio.to_thread``
(see ``chain.aio``). The lock serialises requests, since one websocket cannot carry two at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from substrateinterface import Keypair, SubstrateInterface
from substrateinterface.exceptions import BlockNotFound, SubstrateRequestException

from chain._errors import (
    CONNECTION_ERRORS,
    ChainConnectionError,
    ChainError,
    ExtrinsicFailedError,
    translate,
)
from chain.keys import SS58_FORMAT

T = TypeVar("T")
_REQUEST_ERRORS = (SubstrateRequestException, BlockNotFound, *CONNECTION_ERRORS)


@dataclass(frozen=True)
class SentExtrinsic:
    """A signed, mortal extrinsic: its hash, the last block that may include it, and its bytes (0x-hex)."""

    extrinsic_hash: str
    valid_until: int
    data: str


class ChainClient:
    """A connection to a Substrate node's JSON-RPC (``ws://`` or ``http://``).

    Args:
        url: The node's RPC endpoint.
        connect_attempts: How often to try connecting before giving up.
        backoff_s: First pause between attempts; it doubles each time (at most 5 s).
        timeout_s: Socket timeout of one request.
    """

    def __init__(self, url: str, *, connect_attempts: int = 5, backoff_s: float = 0.2, timeout_s: float = 60.0) -> None:
        self.url = url
        self._attempts = connect_attempts
        self._backoff_s = backoff_s
        self._timeout_s = timeout_s
        self._lock = threading.RLock()
        self._substrate: SubstrateInterface | None = None
        self._genesis_hash: bytes | None = None

    def connect(self) -> ChainClient:
        """Connect (idempotent), retrying with exponential backoff.

        Raises:
            ChainConnectionError: every attempt failed.
        """
        with self._lock:
            if self._substrate is None:
                self._substrate = self._connect_with_retry()
        return self

    def close(self) -> None:
        """Close the connection; the next request reconnects."""
        with self._lock:
            if self._substrate is not None:
                self._substrate.close()
                self._substrate = None

    def __enter__(self) -> ChainClient:
        return self.connect()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def run(self, operation: Callable[[SubstrateInterface], T], *, idempotent: bool = True) -> T:
        """Run ``operation`` on the connection, translating errors; reconnect and retry once if idempotent.

        Raises:
            ChainError: the request failed (``ChainConnectionError``, ``ChainRequestError``...).
        """
        with self._lock:
            try:
                return operation(self.connect()._live())
            except CONNECTION_ERRORS as exc:
                self.close()
                if not idempotent:
                    raise translate(exc) from exc
            except (SubstrateRequestException, BlockNotFound) as exc:
                raise translate(exc) from exc
            try:
                return operation(self.connect()._live())
            except _REQUEST_ERRORS as exc:
                raise translate(exc) from exc

    def rpc(self, method: str, params: list[Any]) -> Any:
        """The ``result`` of a raw JSON-RPC request."""
        response = self.run(lambda substrate: substrate.rpc_request(method, params))
        return response.get("result")

    @property
    def genesis_hash(self) -> bytes:
        """The chain's genesis block hash (its chain id in receipts), cached."""
        if self._genesis_hash is None:
            self._genesis_hash = _hex_bytes(self.block_hash(0))
        return self._genesis_hash

    def finalized_head(self) -> str:
        """The hash (0x-hex) of the latest finalized block."""
        head: str = self.run(lambda substrate: substrate.get_chain_finalised_head())
        return head

    def block_number(self, block_hash: str) -> int:
        """The number of the block ``block_hash``."""
        number: int = self.run(lambda substrate: substrate.get_block_number(block_hash))
        return number

    def block_hash(self, number: int) -> str:
        """The hash of block ``number`` on the best chain.

        Raises:
            ChainRequestError: there is no such block yet.
        """
        block_hash: str | None = self.run(lambda substrate: substrate.get_block_hash(number))
        if block_hash is None:
            raise translate(BlockNotFound(f"no block {number} yet"))
        return block_hash

    def finalized_number(self) -> int:
        """The number of the latest finalized block."""
        return self.block_number(self.finalized_head())

    def events(self, block_hash: str) -> list[Any]:
        """The decoded event records of a block (substrate-interface ``EventRecord`` objects)."""
        return list(self.run(lambda substrate: substrate.get_events(block_hash)))

    def query(self, module: str, storage: str, params: list[Any], block_hash: str | None = None) -> Any:
        """A storage value (substrate-interface ``ScaleType``), or None when the key holds nothing."""
        result = self.run(lambda substrate: substrate.query(module, storage, params, block_hash=block_hash))
        return result if (result.meta_info or {}).get("result_found", True) else None

    def query_map(self, module: str, storage: str, params: list[Any] | None = None) -> list[tuple[Any, Any]]:
        """Every ``(key, value)`` of a storage map, key and value as decoded Python values."""

        def read(substrate: SubstrateInterface) -> list[tuple[Any, Any]]:
            return [(key.value, value.value) for key, value in substrate.query_map(module, storage, params or [])]

        return self.run(read)

    def submit(
        self, keypair: Keypair, module: str, function: str, params: dict[str, Any], *, wait_for_finalization: bool
    ) -> Any:
        """Sign and submit a call, wait for inclusion (or finality), and return the successful receipt.

        Never retried: a re-sent transaction could act twice.

        Raises:
            ExtrinsicFailedError: the extrinsic was included but failed.
            ChainRequestError: the node rejected it (bad signature, nonce, arguments).
        """

        def send(substrate: SubstrateInterface) -> Any:
            call = substrate.compose_call(call_module=module, call_function=function, call_params=params)
            extrinsic = substrate.create_signed_extrinsic(call=call, keypair=keypair)
            receipt = substrate.submit_extrinsic(
                extrinsic, wait_for_inclusion=True, wait_for_finalization=wait_for_finalization
            )
            if not receipt.is_success:
                raise ExtrinsicFailedError(
                    f"{module}.{function} failed: {_pallet_error(receipt.error_message)}",
                    error_message=receipt.error_message,
                    block_hash=receipt.block_hash,
                )
            receipt.triggered_events  # noqa: B018 -- read the events while the receipt's block is at hand
            return receipt

        try:
            return self.run(send, idempotent=False)
        except (ValueError, TypeError) as exc:
            raise ChainError(f"cannot compose {module}.{function}: {exc}") from exc

    def prepare(
        self, keypair: Keypair, module: str, function: str, params: dict[str, Any], *, mortal_blocks: int
    ) -> SentExtrinsic:
        """Sign a call valid for ``mortal_blocks`` blocks from now (the account's next nonce); not sent yet.

        Once ``valid_until`` has passed without it taking effect it can never be included, so
        a new one may be sent for the same purpose without acting twice.
        """

        def sign(substrate: SubstrateInterface) -> SentExtrinsic:
            call = substrate.compose_call(call_module=module, call_function=function, call_params=params)
            head = int(substrate.get_block_number(substrate.get_chain_head()))
            extrinsic = substrate.create_signed_extrinsic(call=call, keypair=keypair, era={"period": mortal_blocks})
            return SentExtrinsic(
                "0x" + bytes(extrinsic.extrinsic_hash).hex(), head + mortal_blocks, str(extrinsic.data)
            )

        try:
            return self.run(sign)
        except (ValueError, TypeError) as exc:
            raise ChainError(f"cannot compose {module}.{function}: {exc}") from exc

    def send(self, extrinsic: SentExtrinsic) -> None:
        """Hand a prepared extrinsic to the node's pool without waiting for a block. Never retried here.

        Raises:
            ChainRequestError: the node rejected it (bad signature, nonce, arguments).
        """
        self.run(lambda substrate: substrate.rpc_request("author_submitExtrinsic", [extrinsic.data]), idempotent=False)

    def _connect_with_retry(self) -> SubstrateInterface:
        pause = self._backoff_s
        for attempt in range(1, self._attempts + 1):
            try:
                substrate = SubstrateInterface(
                    url=self.url, ss58_format=SS58_FORMAT, ws_options={"timeout": self._timeout_s}
                )
                substrate.init_runtime()
            except _REQUEST_ERRORS as exc:
                if attempt == self._attempts:
                    raise ChainConnectionError(
                        f"cannot reach the node at {self.url} after {attempt} attempts: {exc!r}"
                    ) from exc
                time.sleep(pause)
                pause = min(pause * 2, 5.0)
            else:
                return substrate
        raise ChainConnectionError(f"cannot reach the node at {self.url}")

    def _live(self) -> SubstrateInterface:
        assert self._substrate is not None
        return self._substrate


def _pallet_error(error_message: Any) -> str:
    if isinstance(error_message, dict):
        name, docs = error_message.get("name"), error_message.get("docs")
        return f"{name}" + (f" ({' '.join(docs)})" if docs else "")
    return str(error_message)


def _hex_bytes(text: str) -> bytes:
    return bytes.fromhex(text.removeprefix("0x"))
