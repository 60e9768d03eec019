"""Debian root filesystems: the cached debootstrap base and chroot build trees."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from provisioning._process import LineCallback, run
from provisioning.errors import ImageBuildError, ProvisioningError
from provisioning.recipes import BASE, BaseRecipe, base_digest

CHROOT_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/root",
    "LANG": "C.UTF-8",
    "DEBIAN_FRONTEND": "noninteractive",
}
_POLICY_RC_D = "#!/bin/sh\n# faas build: never start services in the chroot\nexit 101\n"


def base_tarball_path(cache_dir: Path, base: BaseRecipe = BASE) -> Path:
    """Where the base root filesystem tarball for `base` is cached."""
    return cache_dir / "rootfs" / f"{base.suite}-{base.variant}-{base_digest(base)[:12]}.tar"


def ensure_base_tarball(
    cache_dir: Path, mirror: str, rebuild: bool = False, on_line: LineCallback | None = None
) -> tuple[Path, bool]:
    """Return (tarball, was cached); debootstrap a new base when needed."""
    target = base_tarball_path(cache_dir)
    if target.exists() and not rebuild:
        return target, True
    target.parent.mkdir(parents=True, exist_ok=True)
    with _work_dir(cache_dir, "base-") as root:
        run(["debootstrap", f"--variant={BASE.variant}", BASE.suite, str(root), mirror], on_line=on_line)
        for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
            _empty_dir(root / leftover)
        _write_sources(root, BASE.canonical_mirror)
        (root / "etc/resolv.conf").write_text("")  # debootstrap copied the host's
        partial = target.with_suffix(".partial")
        run(["tar", "-C", str(root), "--numeric-owner", "--one-file-system", "-cf", str(partial), "."])
        os.replace(partial, target)
    return target, False


class ChrootTree:
    """A root filesystem unpacked from the base tarball, ready for chroot steps."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._proc_mounted = False

    def prepare(self, mirror: str) -> None:
        """Point apt at `mirror`, forbid service starts, copy DNS config, mount /proc."""
        _write_sources(self.root, mirror)
        policy = self.root / "usr/sbin/policy-rc.d"
        policy.write_text(_POLICY_RC_D)
        policy.chmod(0o755)
        resolv = self.root / "etc/resolv.conf"
        resolv.unlink(missing_ok=True)
        shutil.copyfile("/etc/resolv.conf", resolv)
        run(["mount", "-t", "proc", "proc", str(self.root / "proc")])
        self._proc_mounted = True

    def run(self, step: str, on_line: LineCallback | None = None) -> None:
        """Run one shell line inside the chroot with a clean environment."""
        argv = ["chroot", str(self.root), "/bin/sh", "-ec", step]
        try:
            run(argv, env=CHROOT_ENV, replace_env=True, on_line=on_line)
        except ProvisioningError as exc:
            raise ImageBuildError(f"build step failed: {step}\n{exc}") from exc

    def seal(self) -> None:
        """Undo `prepare`: the tree then holds only image content."""
        self.unmount()
        (self.root / "usr/sbin/policy-rc.d").unlink(missing_ok=True)
        (self.root / "etc/resolv.conf").write_text("")
        _write_sources(self.root, BASE.canonical_mirror)

    def unmount(self) -> None:
        """Unmount /proc if mounted."""
        if self._proc_mounted:
            run(["umount", str(self.root / "proc")])
            self._proc_mounted = False

    def tar_stream(self, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        """Yield the tree as an uncompressed tar; raise if tar fails."""
        argv = ["tar", "-C", str(self.root), "--numeric-owner", "--one-file-system", "-c", "."]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout is not None and proc.stderr is not None
        with proc:
            while chunk := proc.stdout.read(chunk_size):
                yield chunk
            errors = proc.stderr.read().decode(errors="replace")
        if proc.returncode != 0:
            raise ImageBuildError(f"tar of {self.root} failed ({proc.returncode}): {errors[-2000:]}")


@contextmanager
def chroot_tree(base_tarball: Path, cache_dir: Path, mirror: str) -> Iterator[ChrootTree]:
    """Unpack the base into a fresh work dir, prepared for chroot; always cleaned up."""
    with _work_dir(cache_dir, "image-") as root:
        run(["tar", "-C", str(root), "--numeric-owner", "-xf", str(base_tarball)])
        tree = ChrootTree(root)
        try:
            tree.prepare(mirror)
            yield tree
        finally:
            tree.unmount()


@contextmanager
def _work_dir(cache_dir: Path, prefix: str) -> Iterator[Path]:
    work = cache_dir / "work"
    work.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix=prefix, dir=work))
    try:
        yield root
    finally:
        safe_rmtree(root)


def mounts_under(path: Path) -> list[str]:
    """Mount points at or below `path` (from /proc/self/mountinfo)."""
    prefix = str(path.resolve())
    points = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
    return [p for p in points if p == prefix or p.startswith(prefix + "/")]


def safe_rmtree(path: Path) -> None:
    """Remove `path`, refusing while anything is still mounted inside it."""
    mounted = mounts_under(path)
    if mounted:
        raise ProvisioningError(f"not removing {path}: still mounted: {', '.join(mounted)}")
    shutil.rmtree(path)


def _empty_dir(directory: Path) -> None:
    for entry in directory.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _write_sources(root: Path, mirror: str) -> None:
    (root / "etc/apt/sources.list.d/debian.sources").unlink(missing_ok=True)
    (root / "etc/apt/sources.list").write_text(f"deb {mirror} {BASE.suite} main\n")
