"""The operator's secp256k1 role key: signs receipt hashes; and recovery of the signer from a signature."""

from __future__ import annotations

import secrets

from eth_keys.datatypes import PrivateKey, Signature
from eth_keys.exceptions import BadSignature
from eth_utils.exceptions import ValidationError

from attestations._errors import SignatureError

SIGNATURE_BYTES = 65
PUBLIC_KEY_BYTES = 65


class ReceiptSigner:
    """Signs 32-byte hashes with a secp256k1 key; signatures are 65 bytes ``r || s || v`` with v in {0, 1}."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) != 32:
            raise SignatureError("a secp256k1 secret key is 32 bytes")
        try:
            self._key = PrivateKey(secret)
        except ValidationError as exc:
            raise SignatureError(f"not a valid secp256k1 secret key: {exc}") from exc

    @classmethod
    def generate(cls) -> ReceiptSigner:
        """A signer with a fresh random key."""
        return cls(secrets.token_bytes(32))

    @classmethod
    def from_hex(cls, secret_hex: str) -> ReceiptSigner:
        """A signer from its 32-byte secret as hex (``0x`` prefix optional)."""
        text = secret_hex.removeprefix("0x")
        try:
            return cls(bytes.fromhex(text))
        except ValueError:
            raise SignatureError("the secret key is not hex") from None

    @property
    def secret_hex(self) -> str:
        """The 32-byte secret as ``0x``-hex (keep it private)."""
        return "0x" + self._key.to_bytes().hex()

    @property
    def public_key_65(self) -> bytes:
        """The uncompressed public key ``0x04 || X || Y``, as registered in ``OperatorPreferences.key``."""
        return b"\x04" + self._key.public_key.to_bytes()

    def sign(self, message_hash: bytes) -> bytes:
        """The 65-byte recoverable signature of a 32-byte hash."""
        if len(message_hash) != 32:
            raise SignatureError("only 32-byte hashes are signed")
        signature: bytes = self._key.sign_msg_hash(message_hash).to_bytes()
        return signature


def recover_public_key(message_hash: bytes, signature: bytes) -> bytes:
    """The 65-byte uncompressed public key that signed ``message_hash`` (v may be 0/1 or 27/28).

    Raises:
        SignatureError: the signature is malformed or recovers to no key.
    """
    if len(signature) != SIGNATURE_BYTES:
        raise SignatureError(f"a signature is {SIGNATURE_BYTES} bytes r||s||v, not {len(signature)}")
    if len(message_hash) != 32:
        raise SignatureError("only 32-byte hashes are signed")
    v = signature[64] - 27 if signature[64] >= 27 else signature[64]
    try:
        public_key = Signature(signature[:64] + bytes([v])).recover_public_key_from_msg_hash(message_hash)
    except (BadSignature, ValidationError, ValueError) as exc:
        raise SignatureError(f"no public key recovers from the signature: {exc}") from exc
    return b"\x04" + bytes(public_key.to_bytes())
