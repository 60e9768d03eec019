"""Install Debian packages on the host with apt-get."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from provisioning._process import LineCallback, run

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
