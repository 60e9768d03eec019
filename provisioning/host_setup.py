"""`faas setup` as a library call: Docker, CRIU, the checkpointable seccomp profile, then the runtime images."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from provisioning import apt
from provisioning.criu import ensure_criu
from provisioning.docker_api import DEFAULT_SOCKET, DockerEngine
from provisioning.docker_daemon import ensure_docker
from provisioning.image_builder import ImageResult, ensure_image, image_exists
from provisioning.progress import SetupProgress, StepReporter
from provisioning.recipes import BASE, LANGUAGE_NAMES, LanguageRecipe, recipe_for
from provisioning.rootfs import ensure_base_tarball
from provisioning.seccomp import PROFILE_PATH, ensure_seccomp_profile

DEFAULT_CACHE_DIR = Path("/var/cache/faas")
DEFAULT_MIRROR = "http://deb.debian.org/debian"


@dataclass(frozen=True)
class SetupOptions:
    """What `faas setup` should do."""

    languages: tuple[str, ...] = LANGUAGE_NAMES
    skip_criu: bool = False
    rebuild: bool = False
    cache_dir: Path = DEFAULT_CACHE_DIR
    mirror: str = DEFAULT_MIRROR
    socket_path: str = DEFAULT_SOCKET

    @classmethod
    def from_environment(cls, **overrides: object) -> SetupOptions:
        """Defaults with `FAAS_CACHE_DIR` / `FAAS_DEBIAN_MIRROR` applied, then `overrides`."""
        values: dict[str, object] = {
            "cache_dir": Path(os.environ.get("FAAS_CACHE_DIR", str(DEFAULT_CACHE_DIR))),
            "mirror": os.environ.get("FAAS_DEBIAN_MIRROR", DEFAULT_MIRROR),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class StepResult:
    """One step's outcome and duration."""

    name: str
    outcome: str
    seconds: float


@dataclass
class SetupReport:
    """Everything `run_setup` did."""

    steps: list[StepResult] = field(default_factory=list)
    images: list[ImageResult] = field(default_factory=list)


def run_setup(options: SetupOptions, progress: SetupProgress) -> SetupReport:
    """Provision this host; idempotent. Raises ProvisioningError on the first failure."""
    for language in options.languages:
        recipe_for(language)  # fail fast on unknown names
    report = SetupReport()
    options.cache_dir.mkdir(parents=True, exist_ok=True)

    def docker_step(step: StepReporter) -> str:
        state = ensure_docker(options.socket_path, step.status, not options.skip_criu)
        mode = "experimental" if state.experimental else "NOT experimental"
        return f"{state.action} (Docker {state.version}, {mode}){state.warning}"

    _timed(report, progress, "Docker engine", docker_step)
    if options.skip_criu:
        report.steps.append(StepResult("CRIU", "skipped (--skip-criu)", 0.0))
    else:
        _timed(report, progress, "CRIU ≥ 4 at /usr/sbin/criu",
               lambda step: _criu_outcome(options, step))  # fmt: skip
    with DockerEngine(options.socket_path) as engine:
        _timed(report, progress, "Seccomp profile of checkpointable sandboxes",
               lambda step: _seccomp_outcome(options, engine, step))  # fmt: skip
        _build_images(options, progress, report, engine)
    return report


def _criu_outcome(options: SetupOptions, step: StepReporter) -> str:
    state = ensure_criu(options.cache_dir, options.mirror, step.status)
    return f"{state.action} ({state.version}, criu check: Looks good)"


def _seccomp_outcome(options: SetupOptions, engine: DockerEngine, step: StepReporter) -> str:
    docker_version = str(engine.version().get("Version", "?"))
    state = ensure_seccomp_profile(docker_version, rebuild=options.rebuild, on_line=step.status)
    if state.action == "present":
        return f"present ({PROFILE_PATH})"
    return f"written to {PROFILE_PATH} from {state.source} (Docker {docker_version})"


def _build_images(options: SetupOptions, progress: SetupProgress, report: SetupReport, engine: DockerEngine) -> None:
    recipes = [recipe_for(language) for language in options.languages]
    pending = [r for r in recipes if options.rebuild or not image_exists(engine, r)]
    base_tarball = Path()
    if pending:

        def base_step(step: StepReporter) -> str:
            nonlocal base_tarball
            apt.install(["debootstrap"], on_line=step.status)
            base_tarball, cached = ensure_base_tarball(options.cache_dir, options.mirror, options.rebuild, step.status)
            return "cached" if cached else "built"

        _timed(report, progress, f"Base root filesystem ({BASE.suite} {BASE.variant})", base_step)
    for recipe in recipes:

        def image_step(step: StepReporter, recipe: LanguageRecipe = recipe) -> str:
            result = ensure_image(
                engine, recipe, base_tarball, options.cache_dir, options.mirror, step, options.rebuild
            )
            report.images.append(result)
            return f"{result.action}: {result.reference}"

        _timed(report, progress, f"Image {recipe.language}", image_step)


def _timed(report: SetupReport, progress: SetupProgress, name: str, body: Callable[[StepReporter], str]) -> None:
    started = time.monotonic()
    with progress.step(name) as step:
        outcome = body(step)
        step.set_outcome(outcome)
    report.steps.append(StepResult(name, outcome, time.monotonic() - started))
