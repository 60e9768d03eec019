"""Errors raised by the execution engine.

EngineError
├── DockerUnavailable      the Docker engine cannot be reached
├── DockerAPIError         the Docker engine refused a request (has .status)
│   └── DockerNotFound     a container or image does not exist
├── ImageMissing           a language's runtime image is not built
├── CapacityExceeded       the node cannot take more work right now
├── SandboxFailure         a sandbox broke (agent died, protocol error)
├── UnsupportedLanguage    no runtime is configured for the language
└── CheckpointFailed       CRIU or Docker could not checkpoint or restore a sandbox
"""


class EngineError(Exception):
    """Root of every error raised by the engine."""


class DockerUnavailable(EngineError):
    pass


class DockerAPIError(EngineError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"Docker engine error {status}: {message}")
        self.status = status
        self.message = message


class DockerNotFound(DockerAPIError):
    pass


class ImageMissing(EngineError):
    pass


class CapacityExceeded(EngineError):
    def __init__(self, message: str, *, details: dict[str, object]) -> None:
        super().__init__(message)
        self.details = details


class SandboxFailure(EngineError):
    pass


class UnsupportedLanguage(EngineError):
    pass


class CheckpointFailed(EngineError):
    """Checkpointing a running sandbox, or restoring (forking) one from a checkpoint, failed."""
