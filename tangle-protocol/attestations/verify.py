"""Offline verification of a receipt and its output against the chain's own record of the job call."""

from __future__ import annotations

from dataclasses import dataclass

from attestations._errors import SignatureError
from attestations.receipt import Receipt, receipt_hash, sha256
from attestations.signer import recover_public_key


@dataclass(frozen=True)
class OnChainResult:
    """The result fields the operator posted with ``Services.submit_result``."""

    receipt_hash: bytes
    signature: bytes
    status: str
    exit_code: int
    reference: str


@dataclass(frozen=True)
class ChainRecord:
    """What the chain says about one job call; the chain layer fills it (``chain.Services.chain_record``).

    ``args_hash`` is blake2_256 of the exact SCALE bytes of the call's ``Vec<Field>`` args (``args_scale``
    when the chain layer has them). ``result`` is None while no result is on chain. ``operator_key`` is the
    ``OperatorPreferences.key`` of ``operator``, the account that submitted the result.
    """

    genesis_hash: bytes
    service_id: int
    call_id: int
    job: int
    args_hash: bytes
    result: OnChainResult | None
    operator: str
    operator_key: bytes
    args_scale: bytes = b""


@dataclass(frozen=True)
class ExecutionOutput:
    """The full output the operator served for the call (text is hashed as UTF-8)."""

    stdout: bytes | str
    stderr: bytes | str


@dataclass(frozen=True)
class Verification:
    """The outcome: ``ok`` when nothing disagrees; otherwise ``reasons`` says what, in words."""

    ok: bool
    reasons: tuple[str, ...]
    receipt_hash: bytes
    signer_key: bytes | None


def verify(
    receipt: Receipt,
    output: ExecutionOutput,
    chain_record: ChainRecord,
    *,
    served_receipt_hash: bytes | None = None,
    served_signature: bytes | None = None,
) -> Verification:
    """Check ``receipt`` and ``output`` against ``chain_record``; never raises for a bad attestation.

    Args:
        served_receipt_hash: The hash the operator's REST endpoint claimed, compared too when given.
        served_signature: The signature the operator's REST endpoint claimed, compared too when given.
    """
    computed = receipt_hash(receipt)
    reasons = [*_identity_reasons(receipt, chain_record), *_output_reasons(receipt, output)]
    signer: bytes | None = None
    result = chain_record.result
    if result is None:
        reasons.append(f"the chain has no result for call {chain_record.call_id} of service {chain_record.service_id}")
    else:
        signer, signature_reasons = _signature_reasons(computed, result, chain_record)
        reasons += signature_reasons
        reasons += _summary_reasons(receipt, result)
        if served_receipt_hash is not None and served_receipt_hash != result.receipt_hash:
            reasons.append("the receipt hash the operator served differs from the one on chain")
        if served_signature is not None and served_signature != result.signature:
            reasons.append("the signature the operator served differs from the one on chain")
    return Verification(ok=not reasons, reasons=tuple(reasons), receipt_hash=computed, signer_key=signer)


def _identity_reasons(receipt: Receipt, record: ChainRecord) -> list[str]:
    reasons = []
    if receipt.chain_id != record.genesis_hash:
        reasons.append(
            f"chain id mismatch: the receipt is for chain 0x{receipt.chain_id.hex()}, "
            f"the chain's genesis is 0x{record.genesis_hash.hex()}"
        )
    for name in ("service_id", "call_id", "job"):
        if getattr(receipt, name) != getattr(record, name):
            reasons.append(
                f"{name} mismatch: the receipt says {getattr(receipt, name)}, the chain says {getattr(record, name)}"
            )
    if receipt.args_hash != record.args_hash:
        reasons.append("args hash mismatch: the receipt's args_hash is not the hash of the chain's job call args")
    if receipt.operator_key != record.operator_key:
        reasons.append("the receipt names an operator key other than the operator's registered key")
    return reasons


def _output_reasons(receipt: Receipt, output: ExecutionOutput) -> list[str]:
    reasons = []
    if sha256(output.stdout) != receipt.stdout_sha256:
        reasons.append("stdout hash mismatch: the stdout served does not hash to the receipt's stdout_sha256")
    if sha256(output.stderr) != receipt.stderr_sha256:
        reasons.append("stderr hash mismatch: the stderr served does not hash to the receipt's stderr_sha256")
    return reasons


def _signature_reasons(computed: bytes, result: OnChainResult, record: ChainRecord) -> tuple[bytes | None, list[str]]:
    reasons = []
    if result.receipt_hash != computed:
        reasons.append(
            f"receipt hash mismatch: the receipt hashes to 0x{computed.hex()}, "
            f"the chain's result has 0x{result.receipt_hash.hex()}"
        )
    try:
        signer: bytes | None = recover_public_key(computed, result.signature)
    except SignatureError as exc:
        return None, [*reasons, f"the on-chain signature is unusable: {exc}"]
    if signer != record.operator_key:
        reasons.append(
            f"the signature does not recover to the registered key of operator {record.operator} "
            "(signed by another key, or over other data)"
        )
    return signer, reasons


def _summary_reasons(receipt: Receipt, result: OnChainResult) -> list[str]:
    reasons = []
    if result.exit_code != receipt.exit_code:
        reasons.append(f"exit code mismatch: the receipt says {receipt.exit_code}, the chain {result.exit_code}")
    if result.status != receipt.status:
        reasons.append(f"status mismatch: the receipt says {receipt.status!r}, the chain {result.status!r}")
    return reasons
