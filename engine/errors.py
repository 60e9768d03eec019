"""Errors raised by the execution engine.

EngineError
├── DockerUnavailable      the Docker engine cannot be reached
├── DockerAPIError         the Docker engine refused a request (has .status)
│   └── DockerNotFound     a container or image does not exist
├── ImageMissing           a language's runtime image is not built
├── CapacityExceeded       the node cannot take more work right now
├── SandboxFailure         a sandbox broke (agent died, protocol error)
├── UnsupportedLanguage    no runtime is configured for the language
├── CheckpointFailed       CRIU or Docker could not checkpoint or restore a sandbox
├── SnapshotError          the snapshot store cannot store a tree (bad input) or read one
│   └── SnapshotCorrupted  a stored tree is missing a blob or fails its sha256 check
├── WorkspaceError         a sandbox's workspace cannot be read or written from the host
└── TreeTooLarge           a file tree holds more bytes than the caller allows (has .limit)
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


class SnapshotError(EngineError):
    """The snapshot store was asked to store something it cannot, or a tree it cannot read."""


class SnapshotCorrupted(SnapshotError):
    """Stored snapshot content is missing or does not match its checksum: it was not restored."""


class WorkspaceError(EngineError):
    """A running sandbox's workspace could not be read or written from the host."""


class TreeTooLarge(EngineError):
    def __init__(self, message: str, *, limit: int) -> None:
        super().__init__(message)
        self.limit = limit
