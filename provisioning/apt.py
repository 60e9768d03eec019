"""Install Debian packages on the host with apt-get."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from provisioning._process import LineCallback, run
from provisioning.errors import CommandError

APT_ENV = {"DEBIAN_FRONTEND": "noninteractive"}


def missing_packages(packages: Sequence[str]) -> list[str]:
    """Return those of `packages` that dpkg does not list as installed."""
    missing = []
    for name in packages:
        proc = subprocess.run(
            ["dpkg-query", "-W", "-f=${db:Status-Status}", name],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.stdout.strip() != "installed":
            missing.append(name)
    return missing


def install(packages: Sequence[str], on_line: LineCallback | None = None) -> list[str]:
    """Install the missing ones of `packages` without recommends; return them."""
    needed = missing_packages(packages)
    if not needed:
        return []
    run(["apt-get", "update"], env=APT_ENV, on_line=on_line)
    run(
        ["apt-get", "install", "-y", "--no-install-recommends", *needed],
        env=APT_ENV,
        on_line=on_line,
    )
    return needed


def download(package: str, directory: Path, on_line: LineCallback | None = None) -> Path:
    """Fetch the candidate .deb of `package` into `directory` without installing it; return its path.

    Refreshes the package lists once when they do not know the package or point at a
    version the archive no longer has. `directory` is handed to apt's own `_apt` user, so
    the download runs unprivileged as apt prefers.
    """
    shutil.chown(directory, user="_apt")
    argv = ["apt-get", "download", package]
    try:
        run(argv, env=APT_ENV, cwd=directory, on_line=on_line)
    except CommandError:
        run(["apt-get", "update"], env=APT_ENV, on_line=on_line)
        run(argv, env=APT_ENV, cwd=directory, on_line=on_line)
    (deb,) = directory.glob(f"{package}_*.deb")
    return deb
