"""Keys: dev URIs, mnemonics and seeds give the accounts a wallet would."""

from __future__ import annotations

import pytest
from substrateinterface import Keypair

from chain import KeyFormatError, load_keypair

ALICE = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"


def test_dev_uri_is_the_well_known_account():
    assert load_keypair("//Alice").ss58_address == ALICE


def test_mnemonic_and_derived_mnemonic():
    mnemonic = Keypair.generate_mnemonic()
    plain = load_keypair(mnemonic)
    assert plain.ss58_address == Keypair.create_from_mnemonic(mnemonic, ss58_format=42).ss58_address
    assert load_keypair(mnemonic + "//1").ss58_address != plain.ss58_address


def test_hex_seed():
    seed = "0x" + "01" * 32
    assert load_keypair(seed).public_key == Keypair.create_from_seed(seed).public_key


@pytest.mark.parametrize("secret", ["", "not a mnemonic", "0x1234"])
def test_unusable_secrets_are_refused(secret):
    with pytest.raises(KeyFormatError):
        load_keypair(secret)
