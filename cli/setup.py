"""`faas setup`: provision this host (Docker, CRIU, seccomp profile, runtime images)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from provisioning import (
    LANGUAGE_NAMES,
    ProvisioningError,
    RichProgress,
    SetupOptions,
    SetupReport,
    run_setup,
)


def setup_command(
    language: Annotated[
        list[str] | None,
        typer.Option(
            "--language", "-l", help=f"Runtime image to build (repeatable): {', '.join(LANGUAGE_NAMES)}. Default: all."
        ),
    ] = None,
    skip_criu: Annotated[bool, typer.Option("--skip-criu", help="Do not install or check CRIU.")] = False,
    rebuild: Annotated[
        bool,
        typer.Option("--rebuild", help="Rebuild the base root filesystem, images and seccomp profile even if cached."),
    ] = False,
    cache_dir: Annotated[
        Path | None,
        typer.Option("--cache-dir", help="Build cache directory (env FAAS_CACHE_DIR; default /var/cache/faas)."),
    ] = None,
) -> None:
    """Install and start Docker, install CRIU >= 4, write the seccomp profile, build the images. Idempotent."""
    console = Console()
    unknown = sorted(set(language or ()) - set(LANGUAGE_NAMES))
    if unknown:
        raise typer.BadParameter(
            f"unknown language(s) {', '.join(unknown)}; choose from {', '.join(LANGUAGE_NAMES)}",
            param_hint="--language",
        )
    if os.geteuid() != 0:
        console.print("[red]faas setup must run as root (it installs packages and starts dockerd).")
        raise typer.Exit(1)
    languages = tuple(dict.fromkeys(language)) if language else None
    options = SetupOptions.from_environment(
        languages=languages, skip_criu=skip_criu, rebuild=rebuild, cache_dir=cache_dir
    )
    try:
        with RichProgress(console) as progress:
            report = run_setup(options, progress)
    except ProvisioningError as exc:
        console.print(f"[bold red]faas setup failed:[/] {exc}", highlight=False)
        raise typer.Exit(1) from exc
    console.print(summary_table(report))


def summary_table(report: SetupReport) -> Table:
    """The end-of-run summary: each step's outcome and time, each image's size."""
    table = Table(title="faas setup", show_lines=False)
    table.add_column("step")
    table.add_column("outcome")
    table.add_column("time", justify="right")
    table.add_column("size", justify="right")
    sizes = {f"Image {image.language}": image.size_bytes for image in report.images}
    for step in report.steps:
        size = sizes.get(step.name)
        table.add_row(step.name, step.outcome, f"{step.seconds:.1f}s", f"{size / 1e6:.0f} MB" if size else "")
    return table
