"""The seccomp profile of checkpointable sandboxes: Docker's default profile without io_uring.

Node 20's libuv opens io_uring rings whatever ``UV_USE_IO_URING`` says, and CRIU 4.1.1 cannot
dump them. Refused ``io_uring_setup`` (EPERM), libuv falls back to epoll and JavaScript
sessions become checkpointable. Docker 25 dropped io_uring from its own default profile; the
docker.io 20.10 of Debian 12 still allows it.

The profile is Docker's own default, not a hand-kept list: ``profiles/seccomp/default.json``
from the moby source that Debian ships as ``golang-github-docker-docker-dev``, built from the
same source package as ``docker.io``, fetched by apt (so checked against the archive's signed
index), with the io_uring syscalls taken out of every rule.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provisioning import apt
from provisioning._process import LineCallback, run
from provisioning.errors import CommandError, SeccompProfileError

PROFILE_PATH = Path("/etc/faas/seccomp-checkpointable.json")
SOURCE_PACKAGE = "golang-github-docker-docker-dev"
DEFAULT_PROFILE_MEMBER = "./usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/default.json"
IO_URING_SYSCALLS = frozenset({"io_uring_setup", "io_uring_enter", "io_uring_register"})
_FAMILY = re.compile(r"^(?:\d+:)?(\d+)\.(\d+)")


@dataclass(frozen=True)
class SeccompState:
    """Outcome of `ensure_seccomp_profile`."""

    action: str  # "present", "written"
    source: str = ""  # the package (and version) a written profile came from


def without_io_uring(profile: dict[str, Any]) -> dict[str, Any]:
    """`profile` with the io_uring syscalls removed from every rule; rules left without names are dropped."""
    rules = []
    for rule in profile["syscalls"]:
        names = [name for name in rule["names"] if name not in IO_URING_SYSCALLS]
        if names:
            rules.append({**rule, "names": names})
    return {**profile, "syscalls": rules}


def profile_problem(profile: object) -> str | None:
    """Why `profile` is no allowlist profile that refuses io_uring, or None when it is one."""
    if not isinstance(profile, dict):
        return "not a JSON object"
    if profile.get("defaultAction") != "SCMP_ACT_ERRNO":
        return f"defaultAction is {profile.get('defaultAction')!r}, not the allowlist's SCMP_ACT_ERRNO"
    rules = profile.get("syscalls")
    if not isinstance(rules, list) or not rules:
        return "no syscall rules"
    if not all(isinstance(rule, dict) and isinstance(rule.get("names"), list) for rule in rules):
        return "a syscall rule without a list of names"
    allowed = {name for rule in rules if rule.get("action") == "SCMP_ACT_ALLOW" for name in rule["names"]}
    if allowed & IO_URING_SYSCALLS:
        return f"it allows {', '.join(sorted(allowed & IO_URING_SYSCALLS))}"
    return None


def load_checkpointable_seccomp_profile(path: Path = PROFILE_PATH) -> str | None:
    """The profile as compact JSON text for ``SecurityOpt: ["seccomp=<text>"]``; None when missing or invalid."""
    try:
        profile = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    if profile_problem(profile) is not None:
        return None
    return json.dumps(profile, separators=(",", ":"))


def version_family(version: str) -> tuple[int, int] | None:
    """Major and minor of a Docker or Debian package version ("20.10.24+dfsg1-1+deb12u1" → (20, 10))."""
    match = _FAMILY.match(version)
    return (int(match.group(1)), int(match.group(2))) if match else None


def ensure_seccomp_profile(
    docker_version: str,
    path: Path = PROFILE_PATH,
    *,
    rebuild: bool = False,
    on_line: LineCallback | None = None,
) -> SeccompState:
    """Write the profile to `path` unless a valid one is there (or `rebuild`).

    Args:
        docker_version: the running daemon's version; Debian's moby source must be of its family.

    Raises:
        SeccompProfileError: the package could not be fetched or read, is of another Docker
            family than the daemon, or its default profile is not the expected allowlist.
    """
    if not rebuild and load_checkpointable_seccomp_profile(path) is not None:
        return SeccompState("present")
    default, package_version = fetch_default_profile(on_line)
    source = f"{SOURCE_PACKAGE} {package_version}"
    family = version_family(docker_version)
    if family is None or version_family(package_version) != family:
        raise SeccompProfileError(
            f"Docker {docker_version} runs here but Debian's archive has the moby source of {source}; "
            f"write Docker {docker_version}'s default seccomp profile without "
            f"{', '.join(sorted(IO_URING_SYSCALLS))} to {path} yourself"
        )
    profile = without_io_uring(default)
    problem = profile_problem(profile)
    if problem is not None:
        raise SeccompProfileError(f"the default profile of {source} is not usable: {problem}")
    _write(path, json.dumps(profile, indent=2) + "\n")
    return SeccompState("written", source)


def fetch_default_profile(on_line: LineCallback | None = None) -> tuple[dict[str, Any], str]:
    """Docker's default profile from Debian's moby source package, and that package's version.

    Raises:
        SeccompProfileError: the package could not be downloaded or holds no readable profile.
    """
    with tempfile.TemporaryDirectory(prefix="faas-seccomp-") as tmp:
        try:
            deb = apt.download(SOURCE_PACKAGE, Path(tmp), on_line=on_line)
            version = run(["dpkg-deb", "--field", str(deb), "Version"]).strip()
            profile: dict[str, Any] = json.loads(_extract(deb, DEFAULT_PROFILE_MEMBER, Path(tmp)))
        except (CommandError, KeyError, tarfile.TarError, json.JSONDecodeError) as exc:
            raise SeccompProfileError(f"reading {DEFAULT_PROFILE_MEMBER} from {SOURCE_PACKAGE} failed: {exc}") from exc
    return profile, version


def _extract(deb: Path, member: str, work_dir: Path) -> bytes:
    """One file of a .deb's data archive (dpkg-deb --fsys-tarfile, then tarfile)."""
    data_tar = work_dir / "data.tar"
    argv = ["dpkg-deb", "--fsys-tarfile", str(deb)]
    with data_tar.open("wb") as out:
        proc = subprocess.run(argv, stdout=out, stderr=subprocess.PIPE, check=False)
    if proc.returncode != 0:
        raise CommandError(argv, proc.returncode, proc.stderr.decode(errors="replace"))
    with tarfile.open(data_tar) as archive:
        handle = archive.extractfile(member)
        if handle is None:
            raise KeyError(f"{member} is not a regular file")
        return handle.read()


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".faas-partial")
    partial.write_text(text)
    partial.chmod(0o644)
    os.replace(partial, path)
