"""Exception tree of the provisioning package.

ProvisioningError
├── CommandError         a host command exited non-zero
├── DockerDaemonError    the Docker engine is missing, down or misconfigured
├── CriuError            CRIU could not be built, installed or checked
├── SeccompProfileError  the seccomp profile of checkpointable sandboxes could not be made
└── ImageBuildError      a runtime image could not be built
"""

from __future__ import annotations


class ProvisioningError(Exception):
    """Root of every error raised by `faas setup`."""


class CommandError(ProvisioningError):
    """A host command failed; the message carries the tail of its output."""

    def __init__(self, argv: list[str], returncode: int, output: str) -> None:
        self.argv = argv
        self.returncode = returncode
        self.output = output
        tail = "\n".join(output.strip().splitlines()[-20:])
        super().__init__(f"`{' '.join(argv)}` exited with {returncode}:\n{tail}")


class DockerDaemonError(ProvisioningError):
    """The Docker engine could not be reached, installed or started."""


class CriuError(ProvisioningError):
    """CRIU could not be obtained or does not work on this host."""


class SeccompProfileError(ProvisioningError):
    """Docker's default seccomp profile could not be fetched, matched to the daemon, or adapted."""


class ImageBuildError(ProvisioningError):
    """A runtime image build failed; nothing was tagged."""
