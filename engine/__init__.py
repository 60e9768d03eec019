"""Execution engine: hardened single-use Docker sandboxes with a warm pool.

Knows nothing about HTTP or chains.
"""

from engine.errors import (
    CapacityExceeded,
    CheckpointFailed,
    DockerAPIError,
    DockerNotFound,
    DockerUnavailable,
    EngineError,
    ImageMissing,
    SandboxFailure,
    SnapshotCorrupted,
    SnapshotError,
    TreeTooLarge,
    UnsupportedLanguage,
    WorkspaceError,
)
from engine.executor import EngineConfig, Executor
from engine.interaction import Interaction, ProgramNotRunning
from engine.languages import LANGUAGES, RUNTIMES, LanguageRuntime
from engine.models import Outcome, Program, Resources, SandboxPolicy, Usage
from engine.sessions import InterpreterSession, SessionDead, SessionResult

__all__ = [
    "LANGUAGES",
    "RUNTIMES",
    "CapacityExceeded",
    "CheckpointFailed",
    "DockerAPIError",
    "DockerNotFound",
    "DockerUnavailable",
    "EngineConfig",
    "EngineError",
    "Executor",
    "ImageMissing",
    "Interaction",
    "InterpreterSession",
    "LanguageRuntime",
    "Outcome",
    "Program",
    "ProgramNotRunning",
    "Resources",
    "SandboxFailure",
    "SandboxPolicy",
    "SessionDead",
    "SessionResult",
    "SnapshotCorrupted",
    "SnapshotError",
    "TreeTooLarge",
    "UnsupportedLanguage",
    "Usage",
    "WorkspaceError",
]
