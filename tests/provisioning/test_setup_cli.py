"""`faas setup` through Typer, as a user runs it."""

import typer
from typer.testing import CliRunner

from cli.setup import setup_command
from provisioning import SetupReport, runtime_image_reference

app = typer.Typer()
app.command("setup")(setup_command)
app.command("noop")(lambda: None)  # keeps "setup" a named sub-command


def test_unknown_language_is_rejected() -> None:
    result = CliRunner().invoke(app, ["setup", "--language", "cobol"])
    assert result.exit_code == 2
    assert "cobol" in result.output


def test_rerun_reports_cached_images(first_setup: SetupReport) -> None:
    del first_setup
    result = CliRunner().invoke(app, ["setup", "-l", "python", "-l", "go"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert f"cached: {runtime_image_reference('python')}" in result.output
    assert f"cached: {runtime_image_reference('go')}" in result.output
    assert "Image rust" not in result.output
