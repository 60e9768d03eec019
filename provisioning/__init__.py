"""Host provisioning for `faas setup`: Docker engine, CRIU and runtime images."""

from provisioning.errors import (
    CommandError,
    CriuError,
    DockerDaemonError,
    ImageBuildError,
    ProvisioningError,
)
from provisioning.host_setup import SetupOptions, SetupReport, StepResult, run_setup
from provisioning.image_builder import ImageResult
from provisioning.progress import (
    RichProgress,
    SetupProgress,
    SilentProgress,
    StepReporter,
)
from provisioning.recipes import (
    LANGUAGE_NAMES,
    LANGUAGES,
    LanguageRecipe,
    recipe_digest,
    recipe_for,
    runtime_image_reference,
)

__all__ = [
    "LANGUAGES",
    "LANGUAGE_NAMES",
    "CommandError",
    "CriuError",
    "DockerDaemonError",
    "ImageBuildError",
    "ImageResult",
    "LanguageRecipe",
    "ProvisioningError",
    "RichProgress",
    "SetupOptions",
    "SetupProgress",
    "SetupReport",
    "SilentProgress",
    "StepReporter",
    "StepResult",
    "recipe_digest",
    "recipe_for",
    "run_setup",
    "runtime_image_reference",
]
