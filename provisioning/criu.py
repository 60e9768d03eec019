"""Make sure our CRIU build is installed where runc looks for it (/usr/sbin/criu).

We build CRIU 4.1.1 from Debian's orig tarball with the patches in
`provisioning/patches/` (`criu-<version>-*.patch`, applied sorted with `patch -p1`).
A build is named by its *build id*, the version plus a digest of those patches,
so a changed patch is a new build: it is cached at `<cache>/criu/<build id>/criu`.
The id of the installed build is stamped in `STAMP_PATH` together with the
installed binary's sha256; a missing or stale stamp (other build, binary replaced)
makes `ensure_criu` reinstall from the cache, building first when needed.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from provisioning import apt
from provisioning._process import LineCallback, run
from provisioning.errors import CriuError, ProvisioningError

CRIU_VERSION = "4.1.1"
# From Debian's criu_4.1.1-1.dsc (trixie), Checksums-Sha256 of the orig tarball.
CRIU_TARBALL_SHA256 = "f80a66cb3726bb2116266d4759ce3bcbfab7abdb6b6d430bf20dd41911717afe"
CRIU_TARBALL = f"criu_{CRIU_VERSION}.orig.tar.xz"
CRIU_POOL_PATH = f"pool/main/c/criu/{CRIU_TARBALL}"
INSTALL_PATH = Path("/usr/sbin/criu")
DIVERTED_PATH = Path("/usr/sbin/criu.debian")
# State about the installed system, not a cache entry: it must outlive cache
# clean-ups and not depend on --cache-dir, so it lives under /var/lib (FHS).
STAMP_PATH = Path("/var/lib/faas/criu-build")
PATCH_DIR = Path(__file__).parent / "patches"
BUILD_DEPENDENCIES = (
    "gcc", "make", "pkg-config", "python3", "python3-protobuf",
    "libprotobuf-c-dev", "libprotobuf-dev", "protobuf-c-compiler", "libnl-3-dev", "libnet1-dev",
    "libcap-dev", "libbsd-dev", "libgnutls28-dev", "libnftables-dev",
    "libaio-dev", "uuid-dev", "xz-utils", "patch",
)  # fmt: skip


@dataclass(frozen=True)
class CriuState:
    """Outcome of `ensure_criu`."""

    action: str  # "present", "installed from cache", "built"
    version: str
    build: str  # build id, e.g. "4.1.1-0123456789ab"


def parse_version(output: str) -> tuple[int, ...] | None:
    """Extract the version from `criu --version` output."""
    match = re.search(r"Version:\s*(\d+(?:\.\d+)*)", output)
    return tuple(int(part) for part in match.group(1).split(".")) if match else None


def installed_version(binary: Path = INSTALL_PATH) -> tuple[int, ...] | None:
    """Version of the CRIU at `binary`, or None when absent or broken."""
    if not binary.exists():
        return None
    probe = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=False)
    return parse_version(probe.stdout) if probe.returncode == 0 else None


def check(binary: Path = INSTALL_PATH) -> tuple[bool, str]:
    """Run `criu check`; return (looks good, output)."""
    probe = subprocess.run(
        [str(binary), "check"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False
    )
    return ("Looks good" in probe.stdout, probe.stdout)


def patch_files(version: str = CRIU_VERSION, directory: Path = PATCH_DIR) -> list[Path]:
    """The patches for CRIU `version`, in the order they are applied."""
    return sorted(directory.glob(f"criu-{version}-*.patch"))


def build_id(version: str, patches: Mapping[str, bytes]) -> str:
    """Name of the build of `version` with `patches` (file name -> content); the version alone when unpatched."""
    if not patches:
        return version
    digest = hashlib.sha256()
    for name in sorted(patches):
        content = patches[name]
        digest.update(f"{name}\0{len(content)}\0".encode())
        digest.update(content)
    return f"{version}-{digest.hexdigest()[:12]}"


def installed_build(stamp: Path = STAMP_PATH, binary: Path = INSTALL_PATH) -> str | None:
    """Build id recorded in `stamp`, or None when it is missing or `binary` is no longer the stamped file."""
    try:
        recorded, digest = stamp.read_text().split()
    except (FileNotFoundError, ValueError):
        return None
    return recorded if binary.exists() and _sha256(binary) == digest else None


def write_stamp(build: str, stamp: Path = STAMP_PATH, binary: Path = INSTALL_PATH) -> None:
    """Record that `binary` is build `build`."""
    stamp.parent.mkdir(parents=True, exist_ok=True)
    partial = stamp.with_name(stamp.name + ".partial")
    partial.write_text(f"{build} {_sha256(binary)}\n")
    os.replace(partial, stamp)


def ensure_criu(cache_dir: Path, mirror: str, on_line: LineCallback | None = None) -> CriuState:
    """Install our patched CRIU build, building it only when it is not cached.

    Raises:
        CriuError: download, patch, build, install or `criu check` failed.
    """
    patches = patch_files()
    wanted = build_id(CRIU_VERSION, {p.name: p.read_bytes() for p in patches})
    if installed_build() == wanted and check()[0]:
        return CriuState("present", CRIU_VERSION, wanted)
    cached = cache_dir / "criu" / wanted / "criu"
    action = "installed from cache"
    if not cached.exists():
        try:
            _build(cached, patches, cache_dir, mirror, on_line)
        except ProvisioningError as exc:
            raise CriuError(f"building CRIU {wanted} failed: {exc}") from exc
        action = "built"
    _install(cached)
    write_stamp(wanted)
    good, output = check()
    if not good:
        raise CriuError(f"`criu check` does not look good on this host:\n{output[-2000:]}")
    return CriuState(action, CRIU_VERSION, wanted)


def apply_patches(source: Path, patches: Sequence[Path], on_line: LineCallback | None = None) -> None:
    """Apply `patches` in order to the source tree `source` with `patch -p1`.

    Raises:
        CommandError: a patch does not apply cleanly.
    """
    for patch in patches:
        run(["patch", "-p1", "--forward", "--batch", "-i", str(patch)], cwd=source, on_line=on_line)


def _build(target: Path, patches: Sequence[Path], cache_dir: Path, mirror: str, on_line: LineCallback | None) -> None:
    apt.install(BUILD_DEPENDENCIES, on_line=on_line)
    tarball = download_tarball(cache_dir / "criu", mirror)
    with tempfile.TemporaryDirectory(prefix="criu-build-", dir=cache_dir / "criu") as tmp:
        with tarfile.open(tarball) as archive:
            archive.extractall(tmp, filter="tar")
        (source,) = [p for p in Path(tmp).iterdir() if p.is_dir()]
        apply_patches(source, patches, on_line)
        jobs = str(os.cpu_count() or 1)
        run(["make", f"-j{jobs}", "criu"], cwd=source, on_line=on_line)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        shutil.copy2(source / "criu" / "criu", partial)
        os.replace(partial, target)


def download_tarball(directory: Path, mirror: str) -> Path:
    """Fetch the pinned CRIU source tarball into `directory` (reused when its hash matches)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / CRIU_TARBALL
    if path.exists() and _sha256(path) == CRIU_TARBALL_SHA256:
        return path
    url = f"{mirror.rstrip('/')}/{CRIU_POOL_PATH}"
    partial = path.with_suffix(".partial")
    try:
        with httpx.stream("GET", url, timeout=60.0, follow_redirects=True) as response:
            response.raise_for_status()
            with partial.open("wb") as out:
                for chunk in response.iter_bytes():
                    out.write(chunk)
    except httpx.HTTPError as exc:
        raise CriuError(f"downloading {url} failed: {exc}") from exc
    digest = _sha256(partial)
    if digest != CRIU_TARBALL_SHA256:
        partial.unlink()
        raise CriuError(f"{url} has sha256 {digest}, expected {CRIU_TARBALL_SHA256}")
    os.replace(partial, path)
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _install(binary: Path) -> None:
    """Copy `binary` to /usr/sbin/criu, diverting a dpkg-owned one aside."""
    owned = subprocess.run(["dpkg", "-S", str(INSTALL_PATH)], capture_output=True, check=False)
    if owned.returncode == 0:
        run(["dpkg-divert", "--local", "--rename", "--divert", str(DIVERTED_PATH),
             "--add", str(INSTALL_PATH)])  # fmt: skip
    partial = INSTALL_PATH.with_name("criu.faas-partial")
    shutil.copy2(binary, partial)
    partial.chmod(0o755)
    os.replace(partial, INSTALL_PATH)
