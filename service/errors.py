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

from typing import Any


class ServiceError(Exception):
    """Root of the service layer's errors; ``details`` goes into the envelope."""

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details or {}


class InvalidRequest(ServiceError):
    pass


class Unauthorized(ServiceError):
    pass


class PaymentRequired(ServiceError):
    pass


class Forbidden(ServiceError):
    pass


class NotFound(ServiceError):
    pass


class Conflict(ServiceError):
    pass


class ExecutionTimedOut(ServiceError):
    pass


class InsufficientResources(ServiceError):
    pass


class InternalError(ServiceError):
    pass
