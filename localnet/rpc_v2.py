"""The new JSON-RPC spec (``chainHead_v1_*``, ``transaction_v1_*``, ``chainSpec_v1_*``) as Substrate serves it.

https://paritytech.github.io/json-rpc-interface-spec/ ; limits and error texts follow ``sc-rpc-spec-v2``.
Follow subscriptions and broadcasts belong to the connection that started them.
"""

from __future__ import annotations

import logging
import secrets
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from localnet.blocks import Block, hex0x
from localnet.chain import Chain
from localnet.chain_head import LIMIT_REACHED, FollowSubscription
from localnet.chain_head_storage import parse_hex_param, parse_queries
from localnet.extrinsics import TransactionError
from localnet.genesis import CHAIN_NAME, PROPERTIES
from localnet.rpc_errors import RpcError
from localnet.rpc_subscriptions import Connection

log = logging.getLogger(__name__)

# Substrate's defaults: follow subscriptions and transaction broadcasts per connection.
MAX_FOLLOW_SUBSCRIPTIONS = 4
MAX_BROADCASTS = 16
_ANSWERED = object()


Respond = Callable[[Any], None]


@dataclass
class _ConnectionState:
    follows: dict[str, FollowSubscription] = field(default_factory=dict)
    broadcasts: set[str] = field(default_factory=set)


def _block_hash(value: Any) -> bytes:
    if not isinstance(value, str) or len(value) != 66 or not value.startswith("0x"):
        raise RpcError(-32602, "Invalid params")
    try:
        return bytes.fromhex(value[2:])
    except ValueError as exc:
        raise RpcError(-32602, "Invalid params") from exc


def _arg(params: list[Any], index: int, kind: type | tuple[type, ...]) -> Any:
    if len(params) <= index or not isinstance(params[index], kind):
        raise RpcError(-32602, "Invalid params")
    return params[index]


class SpecV2:
    """Serves the spec's methods for one chain; ``call`` answers (and notifies) on the client's connection."""

    def __init__(self, chain: Chain) -> None:
        self.chain = chain
        self._state: weakref.WeakKeyDictionary[Connection, _ConnectionState] = weakref.WeakKeyDictionary()
        self.table: dict[str, Callable[[Connection, list[Any], Respond], Any]] = {
            "chainHead_v1_follow": self._follow,
            "chainHead_v1_unfollow": self._unfollow,
            "chainHead_v1_header": self._header,
            "chainHead_v1_body": self._body,
            "chainHead_v1_call": self._call,
            "chainHead_v1_storage": self._storage,
            "chainHead_v1_continue": lambda conn, params, respond: self._operation(
                conn, params, FollowSubscription.resume
            ),
            "chainHead_v1_stopOperation": lambda conn, params, respond: self._operation(
                conn, params, FollowSubscription.stop_operation
            ),
            "chainHead_v1_unpin": self._unpin,
            "transaction_v1_broadcast": self._broadcast,
            "transaction_v1_stop": self._stop_broadcast,
            "chainSpec_v1_chainName": lambda conn, params, respond: CHAIN_NAME,
            "chainSpec_v1_genesisHash": lambda conn, params, respond: hex0x(self.chain.genesis_hash),
            "chainSpec_v1_properties": lambda conn, params, respond: PROPERTIES,
        }

    def method_names(self) -> list[str]:
        return list(self.table)

    def call(self, conn: Connection, method: str, params: list[Any], req_id: Any) -> None:
        """Answer ``method``; a handler that returns ``_ANSWERED`` sent its response itself, before its events."""

        def respond(result: Any) -> None:
            conn.send({"jsonrpc": "2.0", "result": result, "id": req_id})

        result = self.table[method](conn, params, respond)
        if result is not _ANSWERED:
            respond(result)

    def _connection(self, conn: Connection) -> _ConnectionState:
        return self._state.setdefault(conn, _ConnectionState())

    def _subscription(self, conn: Connection, params: list[Any]) -> FollowSubscription | None:
        return self._connection(conn).follows.get(_arg(params, 0, str))

    # -- chainHead -------------------------------------------------------------------------------------
    def _follow(self, conn: Connection, params: list[Any], respond: Respond) -> object:
        with_runtime = _arg(params, 0, bool)
        follows = self._connection(conn).follows
        if len(follows) >= MAX_FOLLOW_SUBSCRIPTIONS:
            raise RpcError(-32800, "Maximum number of chainHead_follow has been reached")

        def ended(sub: FollowSubscription) -> None:
            follows.pop(sub.id, None)
            conn.cleanups.pop(f"chainHead:{sub.id}", None)

        sub = FollowSubscription(self.chain, conn, with_runtime, ended)
        follows[sub.id] = sub
        conn.cleanups[f"chainHead:{sub.id}"] = sub.end
        respond(sub.id)
        sub.start()
        return _ANSWERED

    def _unfollow(self, conn: Connection, params: list[Any], respond: Respond) -> None:
        sub = self._subscription(conn, params)
        if sub is not None:
            sub.end()
        return None

    def _pinned(self, conn: Connection, params: list[Any]) -> tuple[FollowSubscription, Block] | None:
        """The subscription and its pinned block named by ``params``; None for an unknown subscription."""
        sub = self._subscription(conn, params)
        block_hash = _block_hash(params[1] if len(params) > 1 else None)
        return None if sub is None else (sub, sub.pinned_block(block_hash))

    def _header(self, conn: Connection, params: list[Any], respond: Respond) -> str | None:
        pinned = self._pinned(conn, params)
        return None if pinned is None else hex0x(pinned[1].header_bytes())

    def _body(self, conn: Connection, params: list[Any], respond: Respond) -> object:
        pinned = self._pinned(conn, params)
        if pinned is None:
            return LIMIT_REACHED
        pinned[0].body(pinned[1], respond)
        return _ANSWERED

    def _call(self, conn: Connection, params: list[Any], respond: Respond) -> object:
        pinned = self._pinned(conn, params)
        function, data = _arg(params, 2, str), parse_hex_param(_arg(params, 3, str))
        if pinned is None:
            return LIMIT_REACHED
        pinned[0].call(pinned[1], function, data, respond)
        return _ANSWERED

    def _storage(self, conn: Connection, params: list[Any], respond: Respond) -> object:
        pinned = self._pinned(conn, params)
        queries = parse_queries(_arg(params, 2, list))
        child_trie = params[3] if len(params) > 3 else None
        if child_trie is not None:
            parse_hex_param(child_trie)
            # The localnet has no child tries: every item of a child-trie query is absent.
            queries = []
        if pinned is None:
            return LIMIT_REACHED
        pinned[0].storage(pinned[1], queries, respond)
        return _ANSWERED

    def _operation(self, conn: Connection, params: list[Any], act: Callable[[FollowSubscription, str], None]) -> None:
        """``continue`` and ``stopOperation``: an unknown subscription or operation is ignored, as Substrate does."""
        sub = self._subscription(conn, params)
        operation_id = _arg(params, 1, str)
        if sub is not None:
            act(sub, operation_id)

    def _unpin(self, conn: Connection, params: list[Any], respond: Respond) -> None:
        sub = self._subscription(conn, params)
        raw = _arg(params, 1, (str, list))
        hashes = [_block_hash(h) for h in (raw if isinstance(raw, list) else [raw])]
        if sub is not None:
            sub.unpin(hashes)
        return None

    # -- transaction -----------------------------------------------------------------------------------
    def _broadcast(self, conn: Connection, params: list[Any], respond: Respond) -> str | None:
        raw = parse_hex_param(_arg(params, 0, str))
        broadcasts = self._connection(conn).broadcasts
        if len(broadcasts) >= MAX_BROADCASTS:
            return None
        operation_id = secrets.token_hex(8)
        # As in Substrate, the operation lives until transaction_v1_stop (or the connection closes), whatever
        # becomes of the transaction; the spec reports nothing about it.
        broadcasts.add(operation_id)
        conn.cleanups[f"broadcast:{operation_id}"] = lambda: broadcasts.discard(operation_id)
        try:
            tx_hash, _ = self.chain.submit(raw)
        except TransactionError as exc:
            if exc.code != 1013:  # 1013: already in the pool, which is where it should be
                log.info("transaction_v1_broadcast %s: the pool refused the transaction: %s", operation_id, exc)
            return operation_id
        self.chain.promote(self.chain.pool[tx_hash].xt.signer)
        return operation_id

    def _stop_broadcast(self, conn: Connection, params: list[Any], respond: Respond) -> None:
        operation_id = _arg(params, 0, str)
        broadcasts = self._connection(conn).broadcasts
        if operation_id not in broadcasts:
            raise RpcError(-32602, "Invalid operation id")
        broadcasts.discard(operation_id)
        conn.cleanups.pop(f"broadcast:{operation_id}", None)
        return None
