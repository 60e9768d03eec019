"""The operator's role key (secp256k1): kept in its data dir, created on first use."""

from __future__ import annotations

import os
from pathlib import Path

from attestations import ReceiptSigner

ROLE_KEY_FILE = "operator-role-key"


def load_or_create_role_key(data_dir: Path) -> ReceiptSigner:
    """The role key stored in ``data_dir`` (hex secret, mode 0600), generated the first time."""
    path = data_dir / ROLE_KEY_FILE
    if path.exists():
        return ReceiptSigner.from_hex(path.read_text().strip())
    data_dir.mkdir(parents=True, exist_ok=True)
    signer = ReceiptSigner.generate()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(signer.secret_hex + "\n")
    return signer
