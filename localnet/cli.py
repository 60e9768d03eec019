"""``python -m localnet up``: run a node until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path

from localnet.node import LocalnetNode


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m localnet")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="run a local development chain")
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--port", type=int, default=9944)
    up.add_argument("--block-time", type=float, default=1.0, help="seconds between blocks; 0 = manual sealing only")
    up.add_argument("--finality-lag", type=int, default=2)
    up.add_argument("--base-path", type=Path, default=None, help="directory for durable chain data")
    up.add_argument("--bootstrap-blueprint", type=Path, default=None, help="ServiceBlueprint JSON to set up")
    up.add_argument("--owner-seed", default="//Alice")
    up.add_argument("--operator-seed", default="//Alice")
    up.add_argument("--role-key", default=None, help="operator's 65-byte uncompressed secp256k1 key (0x04..)")
    up.add_argument("--rpc-address", default="http://127.0.0.1:8080")
    up.add_argument("--permitted-caller", action="append", default=[], help="ss58 or 0x account (repeatable)")
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> None:
    node = LocalnetNode(
        host=args.host,
        port=args.port,
        block_time=args.block_time,
        finality_lag=args.finality_lag,
        base_path=args.base_path,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await node.start()
    print(f"ready {node.url} genesis={node.genesis_hash}", flush=True)
    try:
        if args.bootstrap_blueprint is not None:
            await _bootstrap(node, args)
        await stop.wait()
    finally:
        await node.stop()


async def _bootstrap(node: LocalnetNode, args: argparse.Namespace) -> None:
    from substrateinterface import Keypair

    from localnet.bootstrap import OperatorRegistration, bootstrap_service

    if args.role_key is None:
        raise SystemExit("--role-key is required with --bootstrap-blueprint")
    blueprint = json.loads(args.bootstrap_blueprint.read_text())
    manual = node.block_time == 0
    operator = OperatorRegistration(
        Keypair.create_from_uri(args.operator_seed), bytes.fromhex(args.role_key.removeprefix("0x")), args.rpc_address
    )
    task = asyncio.to_thread(
        bootstrap_service,
        node.url,
        blueprint,
        [operator],
        owner=Keypair.create_from_uri(args.owner_seed),
        permitted_callers=list(args.permitted_caller),
    )
    if manual:
        # Without a block timer, seal while the bootstrap waits for inclusion.
        fut = asyncio.ensure_future(task)
        while not fut.done():
            await asyncio.sleep(0.05)
            if node.chain.pool:
                node.seal_block(finalize=True)
        _, service_id = fut.result()
    else:
        _, service_id = await task
    print(f"service_id={service_id}", flush=True)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        asyncio.run(run(args))
    except KeyboardInterrupt:
        sys.exit(130)
