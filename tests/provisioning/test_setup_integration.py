"""Against the real Docker engine: the images `faas setup` builds work as sandboxes."""

import json

import pytest

from provisioning import (
    LANGUAGE_NAMES,
    SetupOptions,
    SetupReport,
    SilentProgress,
    run_setup,
    runtime_image_reference,
)
from provisioning.criu import check, installed_version
from provisioning.docker_api import DockerEngine
from provisioning.recipes import GO_WARMUP_PROGRAM, recipe_digest, recipe_for
from tests.provisioning.conftest import docker_run

_TIMED_GO_BUILD = """
import os, pathlib, subprocess, sys, time
cache = sys.argv[1]
if cache == "/tmp/go-cache":
    subprocess.run(["cp", "-r", "/opt/go-cache", cache], check=True)
src = pathlib.Path("/tmp/hello"); src.mkdir()
(src / "main.go").write_text(os.environ["PROGRAM"])
env = {**os.environ, "GOCACHE": cache, "HOME": "/tmp", "GOPATH": "/tmp/go"}
subprocess.run(["go", "mod", "init", "hello"], cwd=src, env=env, check=True, capture_output=True)
start = time.monotonic()
subprocess.run(["go", "build", "-o", "hello", "."], cwd=src, env=env, check=True)
took = time.monotonic() - start
out = subprocess.run(["./hello"], cwd=src, capture_output=True, text=True, check=True).stdout
print(f"{took:.3f} {out.strip()}")
"""


@pytest.mark.parametrize("language", LANGUAGE_NAMES)
def test_image_has_labels_user_and_layout(first_setup: SetupReport, engine: DockerEngine, language: str) -> None:
    reference = runtime_image_reference(language)
    inspect = engine.inspect_image(reference)
    assert inspect is not None, f"{reference} missing after faas setup"
    labels = inspect["Config"]["Labels"]
    assert labels["org.faas.language"] == language
    assert labels["org.faas.recipe-digest"] == recipe_digest(recipe_for(language))
    assert "LANG=C.UTF-8" in inspect["Config"]["Env"]
    assert inspect["Config"]["WorkingDir"] == "/workspace"
    probe = (
        "import os, pwd, json; s = os.stat('/workspace');"
        "print(json.dumps([os.getuid(), os.getgid(), pwd.getpwuid(1000).pw_name,"
        " pwd.getpwuid(1000).pw_dir, os.getcwd(), s.st_uid, s.st_gid,"
        " os.path.isdir('/opt/faas-agent'), os.listdir('/opt/faas-agent'),"
        " os.path.exists('/etc/ssl/certs/ca-certificates.crt'), os.path.exists('/usr/share/man/man1')]))"
    )
    out = docker_run(reference, "/usr/bin/python3", "-c", probe)
    # The python image's development environments (Jupyter, websockify) depend on Debian's CA bundle.
    ca_bundle = language == "python"
    assert json.loads(out) == [
        1000, 1000, "sandbox", "/workspace", "/workspace", 1000, 1000, True, [], ca_bundle, False,
    ]  # fmt: skip


def test_node_runs(first_setup: SetupReport) -> None:
    out = docker_run(runtime_image_reference("javascript"), "node", "--version")
    assert out.startswith("v20.")


def test_go_builds_fast_with_prewarmed_cache(first_setup: SetupReport) -> None:
    reference = runtime_image_reference("go")
    assert "go1.24" in docker_run(reference, "go", "version")
    size = docker_run(reference, "du", "-sm", "/opt/go-cache").split()[0]

    def timed_build(cache: str) -> float:
        out = docker_run(reference, "env", f"PROGRAM={GO_WARMUP_PROGRAM}", "python3", "-c", _TIMED_GO_BUILD, cache)
        seconds, greeting = out.split()
        assert greeting == "hello"
        return float(seconds)

    warm = timed_build("/tmp/go-cache")
    cold = timed_build("/tmp/empty-cache")
    print(f"\n/opt/go-cache: {size} MB; go build hello: prewarmed {warm:.2f}s, cold {cold:.2f}s")
    assert warm < cold / 2
    assert warm < 5.0


def test_rustc_compiles_and_links(first_setup: SetupReport) -> None:
    script = "cd /tmp && printf 'fn main() { println!(\"hello {}\", 6 * 7); }' > h.rs && rustc -O h.rs -o h && ./h"
    out = docker_run(runtime_image_reference("rust"), "sh", "-c", script)
    assert out.strip() == "hello 42"


def test_criu_is_4_and_checks_good(first_setup: SetupReport) -> None:
    version = installed_version()
    assert version is not None and version[0] >= 4
    assert check()[0]


def test_second_setup_is_a_no_op(first_setup: SetupReport) -> None:
    again = run_setup(SetupOptions.from_environment(), SilentProgress())
    assert {image.language: image.action for image in again.images} == dict.fromkeys(LANGUAGE_NAMES, "cached")
    outcomes = {step.name: step.outcome for step in again.steps}
    assert outcomes["Docker engine"].startswith("running")
    assert outcomes["CRIU ≥ 4 at /usr/sbin/criu"].startswith("present")
    assert not any(name.startswith("Base root filesystem") for name in outcomes)
