"""A failing build leaves no tagged image and no work directory behind."""

import pytest

from provisioning import ImageBuildError, SetupOptions, SetupReport, SilentProgress
from provisioning.docker_api import DockerEngine
from provisioning.image_builder import ensure_image
from provisioning.progress import SilentStep
from provisioning.recipes import LanguageRecipe, image_reference
from provisioning.rootfs import base_tarball_path


def test_failed_step_tags_nothing_and_cleans_up(first_setup: SetupReport, engine: DockerEngine) -> None:
    del first_setup  # ensures the base root filesystem is cached
    options = SetupOptions.from_environment()
    broken = LanguageRecipe(language="broken", packages=("python3",), steps=("exit 3",))
    before = set((options.cache_dir / "work").iterdir())
    with pytest.raises(ImageBuildError, match="exit 3"):
        ensure_image(
            engine, broken, base_tarball_path(options.cache_dir), options.cache_dir,
            options.mirror, SilentStep(),
        )  # fmt: skip
    assert engine.inspect_image(image_reference(broken)) is None
    assert set((options.cache_dir / "work").iterdir()) == before


def test_silent_progress_is_usable_as_library_default() -> None:
    with SilentProgress().step("x") as step:
        step.status("y")
        step.set_total(2)
        step.advance()
        step.set_outcome("done")
