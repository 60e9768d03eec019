"""Build one runtime image from the base root filesystem and import it untagged, then tag it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from provisioning.docker_api import DockerEngine, ImageInUse
from provisioning.errors import ImageBuildError, ProvisioningError
from provisioning.progress import StepReporter
from provisioning.recipes import (
    LABEL_RECIPE_DIGEST,
    LanguageRecipe,
    build_steps,
    image_changes,
    image_reference,
    recipe_digest,
)
from provisioning.rootfs import chroot_tree


@dataclass(frozen=True)
class ImageResult:
    """What happened to one runtime image."""

    language: str
    reference: str
    action: str  # "cached" or "built"
    seconds: float
    size_bytes: int
    image_id: str


def image_exists(engine: DockerEngine, recipe: LanguageRecipe) -> bool:
    """True when an image tagged with the reference of `recipe` exists."""
    return engine.inspect_image(image_reference(recipe)) is not None


def ensure_image(
    engine: DockerEngine,
    recipe: LanguageRecipe,
    base_tarball: Path,
    cache_dir: Path,
    mirror: str,
    reporter: StepReporter,
    rebuild: bool = False,
) -> ImageResult:
    """Build and tag the image of `recipe` unless it already exists (or `rebuild`).

    Raises:
        ImageBuildError: a build step, the import or the tagging failed;
            no image is left tagged with the recipe's reference then.
    """
    started = time.monotonic()
    reference = image_reference(recipe)
    existing = engine.inspect_image(reference)
    if existing is not None and not rebuild:
        return _result(recipe, reference, "cached", started, existing)
    image_id = _build_untagged(engine, recipe, base_tarball, cache_dir, mirror, reporter)
    try:
        engine.tag_image(image_id, reference)
    except ProvisioningError:
        engine.remove_image(image_id)
        raise
    if existing is not None and existing["Id"] != image_id:
        _remove_if_unused(engine, str(existing["Id"]))
    built = engine.inspect_image(reference)
    if built is None:
        raise ImageBuildError(f"{reference} vanished right after tagging")
    return _result(recipe, reference, "built", started, built)


def _build_untagged(
    engine: DockerEngine,
    recipe: LanguageRecipe,
    base_tarball: Path,
    cache_dir: Path,
    mirror: str,
    reporter: StepReporter,
) -> str:
    steps = build_steps(recipe)
    reporter.set_total(len(steps) + 2)
    digest = recipe_digest(recipe)
    reporter.status("unpacking base root filesystem")
    with chroot_tree(base_tarball, cache_dir, mirror) as tree:
        reporter.advance()
        for step in steps:
            reporter.status(step)
            tree.run(step, on_line=reporter.status)
            reporter.advance()
        tree.seal()
        reporter.status("importing into Docker")
        image_id = engine.import_image(
            tree.tar_stream(), image_changes(recipe, digest), f"faas runtime {recipe.language}"
        )
    reporter.advance()
    imported = engine.inspect_image(image_id)
    if imported is None or _digest_label(imported) != digest:
        engine.remove_image(image_id)
        raise ImageBuildError(f"imported image {image_id} lacks the recipe digest label")
    return image_id


def _remove_if_unused(engine: DockerEngine, image_id: str) -> None:
    """Drop the image the tag pointed to before a forced rebuild, unless still used."""
    try:
        engine.remove_image(image_id)
    except ImageInUse:
        return  # a container or another tag still uses it; leave it to `docker image prune`


def _digest_label(inspect: dict[str, object]) -> str | None:
    config = inspect.get("Config")
    labels = config.get("Labels") if isinstance(config, dict) else None
    value = labels.get(LABEL_RECIPE_DIGEST) if isinstance(labels, dict) else None
    return value if isinstance(value, str) else None


def _result(
    recipe: LanguageRecipe, reference: str, action: str, started: float, inspect: dict[str, object]
) -> ImageResult:
    size = inspect.get("Size")
    return ImageResult(
        language=recipe.language,
        reference=reference,
        action=action,
        seconds=time.monotonic() - started,
        size_bytes=size if isinstance(size, int) else 0,
        image_id=str(inspect.get("Id", "")),
    )
