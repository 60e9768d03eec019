"""Raw driver for the Docker Engine API."""

from engine.docker.attach import STDERR, STDOUT, AttachedStream
from engine.docker.client import DockerClient

__all__ = ["STDERR", "STDOUT", "AttachedStream", "DockerClient"]
