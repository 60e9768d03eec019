"""Errors of the service layer; the API maps each to its envelope in one table.

ServiceError
├── InvalidRequest        bad input (400)
├── Unauthorized          no or unknown API key (401)
├── PaymentRequired       the tenant's credits are used up (402)
├── Forbidden             key lacks a scope (403)
├── NotFound              unknown or another tenant's resource (404)
├── Conflict              the resource's state forbids it: dependants, merge conflicts, corruption (409)
├── ExecutionTimedOut     the program hit its time limit (408)
├── InsufficientResources the node cannot take the work now (507)
└── InternalError         a failure of ours, not the user's (500)
"""

from __future__ import annotations

from typing import Any, ClassVar


class ServiceError(Exception):
    """Root of the service layer's errors; ``details`` goes into the envelope, ``code`` names the kind."""

    code: ClassVar[str] = "INTERNAL_ERROR"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details or {}


class InvalidRequest(ServiceError):
    code = "INVALID_REQUEST"


class Unauthorized(ServiceError):
    code = "UNAUTHORIZED"


class PaymentRequired(ServiceError):
    code = "PAYMENT_REQUIRED"


class Forbidden(ServiceError):
    code = "FORBIDDEN"


class NotFound(ServiceError):
    code = "NOT_FOUND"


class Conflict(ServiceError):
    code = "CONFLICT"


class ExecutionTimedOut(ServiceError):
    code = "EXECUTION_TIMEOUT"


class InsufficientResources(ServiceError):
    code = "INSUFFICIENT_RESOURCES"


class InternalError(ServiceError):
    code = "INTERNAL_ERROR"
