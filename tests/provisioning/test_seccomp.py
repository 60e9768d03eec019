"""The checkpointable seccomp profile: Docker's default from Debian's moby source, without io_uring."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from provisioning import SeccompProfileError
from provisioning.docker_api import DockerEngine
from provisioning.seccomp import (
    IO_URING_SYSCALLS,
    ensure_seccomp_profile,
    fetch_default_profile,
    load_checkpointable_seccomp_profile,
    profile_problem,
    version_family,
    without_io_uring,
)

RULES: list[dict[str, Any]] = [
    {"names": ["read", "io_uring_setup", "io_uring_enter", "write"], "action": "SCMP_ACT_ALLOW"},
    {"names": ["io_uring_register"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
    {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
]


def allowed(profile: dict[str, Any]) -> set[str]:
    return {name for rule in profile["syscalls"] if rule["action"] == "SCMP_ACT_ALLOW" for name in rule["names"]}


def every_name(profile: dict[str, Any]) -> set[str]:
    return {name for rule in profile["syscalls"] for name in rule["names"]}


def test_io_uring_leaves_every_rule_and_the_rest_is_kept() -> None:
    profile = {"defaultAction": "SCMP_ACT_ERRNO", "archMap": [{"architecture": "SCMP_ARCH_X86_64"}], "syscalls": RULES}
    adapted = without_io_uring(profile)
    assert adapted["syscalls"] == [{**RULES[0], "names": ["read", "write"]}, RULES[2]]
    assert adapted["archMap"] == profile["archMap"] and adapted["defaultAction"] == "SCMP_ACT_ERRNO"
    assert profile["syscalls"] is RULES and len(RULES[0]["names"]) == 4  # the input is not changed
    assert profile_problem(adapted) is None
    assert profile_problem(profile) == "it allows io_uring_enter, io_uring_register, io_uring_setup"


@pytest.mark.parametrize(
    ("profile", "problem"),
    [
        ([], "not a JSON object"),
        ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": RULES[2:]}, "defaultAction is 'SCMP_ACT_ALLOW'"),
        ({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": []}, "no syscall rules"),
        ({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"action": "SCMP_ACT_ALLOW"}]}, "without a list of names"),
    ],
)
def test_anything_but_an_allowlist_without_io_uring_is_refused(profile: object, problem: str) -> None:
    assert problem in (profile_problem(profile) or "")


def test_version_family() -> None:
    assert version_family("20.10.24+dfsg1") == (20, 10)
    assert version_family("20.10.24+dfsg1-1+deb12u1") == (20, 10)
    assert version_family("5:27.3.1-1~debian.12~bookworm") == (27, 3)
    assert version_family("dev") is None


def test_loading_gives_compact_json_or_none(tmp_path: Path) -> None:
    path = tmp_path / "profile.json"
    assert load_checkpointable_seccomp_profile(path) is None
    path.write_text("{not json")
    assert load_checkpointable_seccomp_profile(path) is None
    path.write_text(json.dumps({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": RULES}))
    assert load_checkpointable_seccomp_profile(path) is None  # allows io_uring
    path.write_text(json.dumps({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": RULES[2:]}, indent=2))
    assert load_checkpointable_seccomp_profile(path) == json.dumps(
        {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": RULES[2:]}, separators=(",", ":")
    )


# ---- from Debian's archive, against the running daemon ----------------------------------------


@pytest.fixture(scope="module")
def docker_version(engine: DockerEngine) -> str:
    return str(engine.version()["Version"])


@pytest.fixture(scope="module")
def dockers_default() -> tuple[dict[str, Any], str]:
    return fetch_default_profile()


def test_the_profile_is_dockers_default_without_io_uring(
    tmp_path: Path, docker_version: str, dockers_default: tuple[dict[str, Any], str]
) -> None:
    path = tmp_path / "etc" / "seccomp.json"
    state = ensure_seccomp_profile(docker_version, path)
    default, package_version = dockers_default
    assert state.action == "written" and state.source == f"golang-github-docker-docker-dev {package_version}"
    assert version_family(package_version) == version_family(docker_version) == (20, 10)
    profile = json.loads(path.read_text())

    assert profile == without_io_uring(default)
    assert allowed(default) >= IO_URING_SYSCALLS  # Docker 20.10 allows it: the reason for this profile
    assert every_name(default) - every_name(profile) == IO_URING_SYSCALLS
    assert profile["defaultAction"] == "SCMP_ACT_ERRNO" and len(allowed(profile)) > 300
    assert {"read", "epoll_wait", "clone", "execve"} <= allowed(profile)
    unconditional = set(profile["syscalls"][0]["names"])
    assert not {"mount", "keyctl", "add_key", "unshare", "bpf", "ptrace"} & unconditional  # still refused
    assert any(rule.get("includes", {}).get("caps") == ["CAP_SYS_ADMIN"] for rule in profile["syscalls"])
    assert any(rule.get("args") for rule in profile["syscalls"])  # conditional rules kept (personality, clone)
    x86_64 = next(arch for arch in profile["archMap"] if arch["architecture"] == "SCMP_ARCH_X86_64")
    assert x86_64["subArchitectures"] == ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]


def test_a_valid_profile_is_kept_and_a_broken_one_rewritten(tmp_path: Path, docker_version: str) -> None:
    path = tmp_path / "seccomp.json"
    assert ensure_seccomp_profile(docker_version, path).action == "written"
    written = path.read_text()
    assert ensure_seccomp_profile(docker_version, path).action == "present"
    path.write_text(written.replace('"write",', '"write", "io_uring_setup",', 1))
    assert ensure_seccomp_profile(docker_version, path).action == "written"
    assert path.read_text() == written
    assert ensure_seccomp_profile(docker_version, path, rebuild=True).action == "written"


def test_another_docker_family_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "seccomp.json"
    with pytest.raises(SeccompProfileError, match=r"Docker 27\.3\.1 runs here"):
        ensure_seccomp_profile("27.3.1", path)
    assert not path.exists()
