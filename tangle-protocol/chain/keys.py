"""Account keys for signing extrinsics: sr25519 secret URIs (``//Alice``), mnemonics and hex seeds."""

from __future__ import annotations

from substrateinterface import Keypair, KeypairType

from chain._errors import KeyFormatError

SS58_FORMAT = 42


def load_keypair(secret: str) -> Keypair:
    """An sr25519 keypair from a secret URI (``"//Alice"``, ``"word ... word//hard"``), mnemonic or 0x-seed.

    Raises:
        KeyFormatError: the secret is none of those.
    """
    text = secret.strip()
    try:
        if text.startswith("0x"):
            return Keypair.create_from_seed(text, ss58_format=SS58_FORMAT, crypto_type=KeypairType.SR25519)
        if text.startswith("/") or "//" in text or "/" in text.split()[-1]:
            return Keypair.create_from_uri(text, ss58_format=SS58_FORMAT, crypto_type=KeypairType.SR25519)
        return Keypair.create_from_mnemonic(text, ss58_format=SS58_FORMAT, crypto_type=KeypairType.SR25519)
    except (ValueError, TypeError, IndexError) as exc:
        raise KeyFormatError(f"not a usable secret URI, mnemonic or seed: {exc}") from None
