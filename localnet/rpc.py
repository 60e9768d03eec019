"""JSON-RPC 2.0 over WebSocket, including Substrate's pub-sub subscriptions and manual-seal methods."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from localnet.blocks import Block, hex0x
from localnet.chain import Chain
from localnet.extrinsics import TransactionError
from localnet.rpc_errors import RpcError
from localnet.rpc_methods import Methods, parse_hex
from localnet.rpc_subscriptions import Subscriptions
from localnet.rpc_v2 import SpecV2

log = logging.getLogger(__name__)


class _Connection:
    """One client: an ordered outbox and the subscriptions it holds."""

    def __init__(self, ws: ServerConnection) -> None:
        self.ws = ws
        self.outbox: asyncio.Queue[str | None] = asyncio.Queue()
        self.cleanups: dict[str, Callable[[], None]] = {}

    def send(self, message: dict[str, Any]) -> None:
        self.outbox.put_nowait(json.dumps(message))

    def notify(self, method: str, sub_id: str, result: Any) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": {"subscription": sub_id, "result": result}})

    async def pump(self) -> None:
        while (text := await self.outbox.get()) is not None:
            await self.ws.send(text)


class RpcServer:
    """Serves a ``Chain``; ``seal`` is invoked for ``engine_createBlock``."""

    def __init__(self, chain: Chain, seal: Callable[[bool], Block]) -> None:
        self.chain = chain
        self.seal = seal
        self.methods = Methods(chain)
        self.subscriptions = Subscriptions(chain)
        self.v2 = SpecV2(chain)
        self._server: Server | None = None

    def method_names(self) -> list[str]:
        extra = ["author_submitExtrinsic", "engine_createBlock", "engine_finalizeBlock", "rpc_methods"]
        extra += self.subscriptions.table
        return sorted({*self.methods.table, *extra, *self.v2.method_names()})

    async def start(self, host: str, port: int) -> int:
        self._server = await serve(self._handle, host, port, max_size=2**26, ping_interval=None)
        sockets = list(self._server.sockets)
        return int(sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, ws: ServerConnection) -> None:
        conn = _Connection(ws)
        pump = asyncio.create_task(conn.pump())
        try:
            async for raw in ws:
                self._dispatch(conn, raw)
        except ConnectionClosed:
            pass
        finally:
            for cleanup in list(conn.cleanups.values()):
                cleanup()
            conn.outbox.put_nowait(None)
            with contextlib.suppress(ConnectionClosed):
                await pump

    def _dispatch(self, conn: _Connection, raw: str | bytes) -> None:
        try:
            request = json.loads(raw)
        except ValueError:
            conn.send({"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": None})
            return
        req_id = request.get("id") if isinstance(request, dict) else None
        try:
            if not isinstance(request, dict) or not isinstance(request.get("method"), str):
                raise RpcError(-32600, "Invalid request")
            params = request.get("params") or []
            if not isinstance(params, list):
                raise RpcError(-32602, "Invalid params")
            self._call(conn, request["method"], params, req_id)
        except RpcError as exc:
            conn.send({"jsonrpc": "2.0", "error": exc.to_json(), "id": req_id})
        except TransactionError as exc:
            conn.send({"jsonrpc": "2.0", "error": exc.to_json(), "id": req_id})
        except (ValueError, TypeError, IndexError, KeyError) as exc:
            error = {"code": -32602, "message": "Invalid params", "data": str(exc)}
            conn.send({"jsonrpc": "2.0", "error": error, "id": req_id})
        except Exception as exc:  # a failing handler must not kill the connection
            log.exception("rpc method failed")
            conn.send({"jsonrpc": "2.0", "error": {"code": -32603, "message": f"Internal error: {exc}"}, "id": req_id})

    def _call(self, conn: _Connection, method: str, params: list[Any], req_id: Any) -> None:
        if method == "rpc_methods":
            result: Any = {"version": 1, "methods": self.method_names()}
        elif method in self.methods.table:
            result = self.methods.table[method](params)
        elif method in self.v2.table:
            self.v2.call(conn, method, params, req_id)
            return
        elif method == "author_submitExtrinsic":
            tx_hash, _ = self.chain.submit(parse_hex(params[0], "extrinsic"))
            self.chain.promote(self.chain.pool[tx_hash].xt.signer)
            result = hex0x(tx_hash)
        elif method in self.subscriptions.table:
            self.subscriptions.table[method](conn, params, req_id)
            return
        elif method == "engine_createBlock":
            create_empty = bool(params[0]) if params else True
            finalize = bool(params[1]) if len(params) > 1 else False
            if not create_empty and not self.chain.pool:
                raise RpcError(
                    -32603, "Transaction pool is empty, set create_empty to true, if you want to create empty blocks"
                )
            block = self.seal(finalize)
            aux = {"header_only": False, "clear_justification_requests": False, "needs_justification": False}
            aux |= {"bad_justification": False, "is_new_best": True}
            result = {"hash": hex0x(block.hash), "aux": aux}
        elif method == "engine_finalizeBlock":
            target = self.chain.block_by_hash(parse_hex(params[0], "block hash"))
            if target is None:
                raise RpcError(-32603, f"Block {params[0]} not found")
            self.chain.finalize_to(target.number)
            result = True
        else:
            raise RpcError(-32601, "Method not found")
        conn.send({"jsonrpc": "2.0", "result": result, "id": req_id})
