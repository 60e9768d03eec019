"""``faas operator``, ``faas role-key`` and ``faas localnet``: the Tangle side of the node."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.console import Console

from blueprint import BLUEPRINT_JSON
from chain import KeyFormatError, load_keypair
from faas_sdk.tangle import TangleError, TangleFaaSClient, VerificationError
from localnet import BootstrapError
from localnet.cli import main as localnet_main
from operator_node import OperatorSettings, load_or_create_role_key, operator_app
from service import Node, Settings

console = Console(stderr=True)
localnet_app = typer.Typer(help="A local development chain with Tangle's Services pallet.", no_args_is_help=True)

DataDir = Annotated[
    Path | None, typer.Option(help="Where the node keeps its database and role key [env FAAS_DATA_DIR]")
]
Seed = Annotated[
    str, typer.Option(envvar="FAAS_OPERATOR_SEED", help="The operator account's secret URI or mnemonic (sr25519)")
]


def operator(
    chain: Annotated[str, typer.Option(help="The chain's RPC endpoint (ws:// or wss://)")] = "ws://127.0.0.1:9944",
    data_dir: DataDir = None,
    host: Annotated[str, typer.Option(help="Address the REST API listens on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the REST API")] = 8080,
    seed: Seed = "//Alice",
    service: Annotated[list[int] | None, typer.Option(help="Serve only this service id (repeatable)")] = None,
    start_block: Annotated[int, typer.Option(help="First block to scan on a fresh ledger")] = 0,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error")] = "info",
) -> None:
    """Run the operator node: follow the chain's finalized blocks, run the jobs called for this operator's
    services, post signed results, and serve the REST API — one process, one engine."""
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    settings = Settings() if data_dir is None else Settings(data_dir=data_dir)
    try:
        account = load_keypair(seed)
    except KeyFormatError as exc:
        console.print(f"[red]bad --seed:[/red] {exc}")
        raise typer.Exit(2) from exc
    role_key = load_or_create_role_key(settings.data_dir)
    config = OperatorSettings(
        chain_url=chain,
        account=account,
        role_key=role_key,
        service_ids=frozenset(service) if service else None,
        start_block=start_block,
    )

    def announce(node: Node) -> None:
        if node.generated_key:
            console.print(f"[bold]Created an API key (shown only this once):[/bold]\n  {node.generated_key}")
        console.print(
            f"operator {account.ss58_address} (role key 0x{role_key.public_key_65.hex()}) following {chain}; "
            f"REST API on http://{host}:{port}/api/v1",
            highlight=False,
        )

    uvicorn.run(
        operator_app(settings, config, on_ready=announce),
        host=host,
        port=port,
        log_level=log_level.lower(),
        access_log=log_level.lower() == "debug",
    )


def role_key(data_dir: DataDir = None) -> None:
    """Print the operator's role public key (0x04..., 65 bytes), creating the key on first use."""
    settings = Settings() if data_dir is None else Settings(data_dir=data_dir)
    print("0x" + load_or_create_role_key(settings.data_dir).public_key_65.hex())


@localnet_app.command("up")
def localnet_up(
    port: Annotated[int, typer.Option(help="WebSocket RPC port")] = 9944,
    block_time: Annotated[float, typer.Option(help="Seconds between blocks; 0 = seal on demand only")] = 1.0,
    finality_lag: Annotated[int, typer.Option(help="Blocks between best and finalized")] = 2,
    base_path: Annotated[Path | None, typer.Option(help="Keep the chain here across restarts")] = None,
    bootstrap: Annotated[
        bool, typer.Option(help="Create the FaaS blueprint, register the operator, request and approve a service")
    ] = True,
    operator_data_dir: DataDir = None,
    operator_seed: Seed = "//Alice",
    rpc_address: Annotated[str, typer.Option(help="The operator's REST API, as registered on chain")] = (
        "http://127.0.0.1:8080"
    ),
) -> None:
    """Run the development chain; with --bootstrap it prints `service_id=N` once the service is ready."""
    argv = ["up", "--port", str(port), "--block-time", str(block_time), "--finality-lag", str(finality_lag)]
    if base_path is not None:
        argv += ["--base-path", str(base_path)]
    if bootstrap:
        settings = Settings() if operator_data_dir is None else Settings(data_dir=operator_data_dir)
        key = load_or_create_role_key(settings.data_dir).public_key_65
        argv += ["--bootstrap-blueprint", str(BLUEPRINT_JSON), "--operator-seed", operator_seed]
        argv += ["--role-key", "0x" + key.hex(), "--rpc-address", rpc_address]
    try:
        localnet_main(argv)  # the chain's own entry point, shared with `python -m localnet`
    except BootstrapError as exc:
        console.print(f"[red]localnet:[/red] {exc}")
        raise typer.Exit(1) from exc


def verify(
    chain: Annotated[str, typer.Option(help="The chain's RPC endpoint")] = "ws://127.0.0.1:9944",
    service: Annotated[int, typer.Option(help="Service id")] = 0,
    call: Annotated[int, typer.Option(help="Call id")] = 0,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for a result on chain")] = 30.0,
) -> None:
    """Check a job's result: the on-chain hash and signature against the operator's receipt and output.

    Exit status 0: verified; 1: they disagree (each reason is printed); 2: no result or unreachable.
    """
    try:
        with TangleFaaSClient(rpc_url=chain, service_id=service) as client:
            result = client.wait_for_result(call, timeout=timeout)
    except VerificationError as exc:
        print(f"NOT VERIFIED: call {call} of service {service}")
        for reason in exc.reasons:
            print(f"  - {reason}")
        raise typer.Exit(1) from exc
    except TangleError as exc:
        console.print(f"[red]cannot verify:[/red] {exc}")
        raise typer.Exit(2) from exc
    print(
        f"verified: call {call} of service {service} answered by {result.operator} in block {result.block_hash}\n"
        f"  status {result.status}, exit code {result.exit_code}, receipt 0x{result.receipt_hash.hex()}\n"
        f"  stdout sha256 0x{result.receipt.stdout_sha256.hex()}, signed by role key "
        f"0x{result.receipt.operator_key.hex()}"
    )
