"""The ``faas`` command line."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.console import Console

from api import create_app
from cli.chain import localnet_app, operator, role_key, verify
from cli.keys import keys_app
from cli.setup import setup_command
from service import Node, Settings

app = typer.Typer(help="Tangle FaaS operator node.", no_args_is_help=True, add_completion=False)
app.command("setup", help="Set up this machine: Docker engine, CRIU, runtime images (idempotent).")(setup_command)
app.add_typer(keys_app, name="keys")
app.add_typer(localnet_app, name="localnet")
app.command("operator")(operator)
app.command("role-key")(role_key)
app.command("verify")(verify)
console = Console(stderr=True)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8080,
    data_dir: Annotated[
        Path | None, typer.Option(help="Where the node keeps its database and caches [env FAAS_DATA_DIR]")
    ] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error")] = "info",
) -> None:
    """Serve the REST API (SQLite under the data dir, or FAAS_DATABASE_URL)."""
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    settings = Settings() if data_dir is None else Settings(data_dir=data_dir)

    def announce(node: Node) -> None:
        if node.generated_key:
            console.print(
                f"[bold]No API key was configured; created one (shown only this once):[/bold]\n  {node.generated_key}",
                highlight=False,
            )
        console.print(f"faas node listening on http://{host}:{port}/api/v1 (docs at /docs)", highlight=False)

    uvicorn.run(
        create_app(settings, on_ready=announce),
        host=host,
        port=port,
        log_level=log_level.lower(),
        access_log=log_level.lower() == "debug",
    )


if __name__ == "__main__":
    app()
