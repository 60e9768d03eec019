"""The single table from engine errors to service errors."""

from __future__ import annotations

from engine import CapacityExceeded, CheckpointFailed, EngineError, ImageMissing, SnapshotCorrupted, UnsupportedLanguage
from service.errors import Conflict, InsufficientResources, InternalError, InvalidRequest, ServiceError


def translate_engine_error(exc: EngineError) -> ServiceError:
    if isinstance(exc, CapacityExceeded):
        return InsufficientResources(str(exc), details=exc.details)
    if isinstance(exc, UnsupportedLanguage):
        return InvalidRequest(str(exc), details={"field": "language"})
    if isinstance(exc, ImageMissing):
        return InternalError(str(exc), details={"reason": "runtime image missing"})
    if isinstance(exc, SnapshotCorrupted):
        return Conflict(f"the snapshot is corrupted and was not restored: {exc}", details={"reason": "corrupted"})
    if isinstance(exc, CheckpointFailed):
        return InternalError(f"the sandbox's state could not be saved or restored: {exc}")
    return InternalError("the sandbox failed while running this execution; it was not charged")
