"""Raw drivers for the Docker Engine API and for the daemon's runc."""

from engine.docker.attach import STDERR, STDOUT, AttachedStream
from engine.docker.client import DockerClient
from engine.docker.runc import Runc, daemon_runc

__all__ = ["STDERR", "STDOUT", "AttachedStream", "DockerClient", "Runc", "daemon_runc"]
