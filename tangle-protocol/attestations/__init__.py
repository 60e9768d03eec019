"""Signed execution receipts: canonical encoding, hash, signature, and verification against the chain.

signer = ReceiptSigner.generate()
signature = signer.sign(receipt_hash(receipt))
outcome = verify(receipt, ExecutionOutput(stdout, stderr), chain_record)
if not outcome.ok:
    print(*outcome.reasons, sep="\\n")
"""

from attestations._errors import AttestationError, ReceiptFormatError, SignatureError
from attestations.receipt import (
    DOMAIN_TAG,
    Receipt,
    blake2_256,
    encode_receipt,
    receipt_hash,
    sha256,
)
from attestations.signer import ReceiptSigner, recover_public_key
from attestations.verify import ChainRecord, ExecutionOutput, OnChainResult, Verification, verify

__all__ = [
    "DOMAIN_TAG",
    "AttestationError",
    "ChainRecord",
    "ExecutionOutput",
    "OnChainResult",
    "Receipt",
    "ReceiptFormatError",
    "ReceiptSigner",
    "SignatureError",
    "Verification",
    "blake2_256",
    "encode_receipt",
    "receipt_hash",
    "recover_public_key",
    "sha256",
    "verify",
]
