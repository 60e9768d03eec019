"""The blueprint package's errors.

BlueprintError
├── JobArgumentError     a job call's arguments do not fit the job table (count, types, JSON, limits)
└── ResultFieldError     a job result's fields do not have the result shape
"""

from __future__ import annotations


class BlueprintError(Exception):
    """Root of every error the blueprint package raises."""


class JobArgumentError(BlueprintError):
    """A job call's arguments are unusable; the message says why, in words a caller understands."""


class ResultFieldError(BlueprintError):
    """A job result's fields are not ``[receipt_hash, signature, status, exit_code, reference]``."""
