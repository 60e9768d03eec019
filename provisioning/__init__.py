"""Host provisioning for `faas setup`: Docker engine, CRIU, seccomp profile and runtime images."""

from provisioning.errors import (
    CommandError,
    CriuError,
    DockerDaemonError,
    ImageBuildError,
    ProvisioningError,
    SeccompProfileError,
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
from provisioning.seccomp import load_checkpointable_seccomp_profile

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
    "SeccompProfileError",
    "SetupOptions",
    "SetupProgress",
    "SetupReport",
    "SilentProgress",
    "StepReporter",
    "StepResult",
    "load_checkpointable_seccomp_profile",
    "recipe_digest",
    "recipe_for",
    "run_setup",
    "runtime_image_reference",
]
