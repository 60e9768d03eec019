"""The attestations package's errors.

AttestationError
├── ReceiptFormatError    a receipt or its JSON form has a field of the wrong size or type
└── SignatureError        a signature is malformed or does not recover to a key
"""

from __future__ import annotations


class AttestationError(Exception):
    """Root of every error the attestations package raises."""


class ReceiptFormatError(AttestationError):
    """A receipt field has the wrong size or type (e.g. a 31-byte hash)."""


class SignatureError(AttestationError):
    """A signature is not 65 bytes r||s||v, or no public key recovers from it."""
