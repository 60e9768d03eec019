import dataclasses
import re

import pytest

from provisioning import recipes
from provisioning.recipes import (
    LANGUAGE_NAMES,
    BaseRecipe,
    image_changes,
    image_reference,
    recipe_digest,
    recipe_for,
    runtime_image_reference,
)


def test_languages_are_the_four_runtimes() -> None:
    assert set(LANGUAGE_NAMES) == {"python", "javascript", "go", "rust"}


@pytest.mark.parametrize("language", LANGUAGE_NAMES)
def test_reference_format_and_prefix_of_digest(language: str) -> None:
    reference = runtime_image_reference(language)
    match = re.fullmatch(r"faas-runtime/([a-z]+):([0-9a-f]{12})", reference)
    assert match is not None
    assert match.group(1) == language
    assert recipe_digest(recipe_for(language)).startswith(match.group(2))


def test_digest_is_stable_across_calls_and_recipe_copies() -> None:
    recipe = recipe_for("go")
    copy = dataclasses.replace(recipe)
    assert recipe_digest(recipe) == recipe_digest(copy) == recipe_digest(recipe_for("go"))
    assert len(recipe_digest(recipe)) == 64


def test_digests_differ_between_languages() -> None:
    assert len({recipe_digest(recipe_for(name)) for name in LANGUAGE_NAMES}) == len(LANGUAGE_NAMES)


def test_digest_changes_when_a_package_changes() -> None:
    recipe = recipe_for("rust")
    changed = dataclasses.replace(recipe, packages=(*recipe.packages, "make"))
    assert recipe_digest(changed) != recipe_digest(recipe)
    assert image_reference(changed) != image_reference(recipe)


def test_digest_changes_with_steps_env_base_and_builder_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recipe = recipe_for("python")
    original = recipe_digest(recipe)
    assert recipe_digest(dataclasses.replace(recipe, steps=("true",))) != original
    assert recipe_digest(dataclasses.replace(recipe, env=(("A", "1"),))) != original
    assert recipe_digest(recipe, BaseRecipe(suite="forky")) != original
    monkeypatch.setattr(recipes, "BUILDER_VERSION", recipes.BUILDER_VERSION + 1)
    assert recipe_digest(recipe) != original


def test_mirror_does_not_change_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    recipe = recipe_for("javascript")
    before = runtime_image_reference("javascript")
    other_base = BaseRecipe(canonical_mirror="http://mirror.example/debian")
    assert recipe_digest(recipe, other_base) == recipe_digest(recipe)
    monkeypatch.setenv("FAAS_DEBIAN_MIRROR", "http://mirror.example/debian")
    assert runtime_image_reference("javascript") == before


def test_unknown_language_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="python"):
        recipe_for("cobol")


@pytest.mark.parametrize("language", LANGUAGE_NAMES)
def test_every_image_has_python_user_and_config(language: str) -> None:
    recipe = recipe_for(language)
    assert "python3" in recipe.packages
    steps = "\n".join(recipes.build_steps(recipe))
    assert "useradd --uid 1000 --gid 1000 --home-dir /workspace" in steps
    assert "--no-install-recommends" in steps
    changes = image_changes(recipe, "d" * 64)
    assert "ENV LANG=C.UTF-8" in changes
    assert "WORKDIR /workspace" in changes
    assert f'LABEL org.faas.language="{language}"' in changes
    assert f'LABEL org.faas.recipe-digest="{"d" * 64}"' in changes
    assert any(c.startswith("ENV PATH=") and "/usr/lib/go/bin" in c for c in changes)
