"""Pure builders of Docker Engine API bodies for hardened sandboxes."""

from __future__ import annotations

import json
from typing import Any

from engine.languages import AGENT_MOUNT, LanguageRuntime, program_env
from engine.models import Resources, SandboxPolicy
from engine.ownership import OWNER_LABEL, this_process

SANDBOX_LABEL = "org.faas.sandbox"
WORKSPACE = "/workspace"
MIB = 1024 * 1024


def resource_limits(resources: Resources, policy: SandboxPolicy) -> dict[str, Any]:
    """CPU, memory (no extra swap) and pids limits, as create and update take them."""
    memory = resources.memory_mb * MIB
    return {
        "NanoCpus": int(resources.cpu_cores * 1e9),
        "Memory": memory,
        "MemorySwap": memory,
        "PidsLimit": policy.pids_limit,
    }


def sandbox_config(
    *,
    image: str,
    runtime: LanguageRuntime,
    resources: Resources,
    policy: SandboxPolicy,
    agent_dir: str,
    node_id: str,
) -> dict[str, Any]:
    """Container-create body: no network, no capabilities, read-only root, bounded everything."""
    seed_env = ",".join(runtime.seeds)
    env = [f"FAAS_AGENT_SEED={seed_env}", "LANG=C.UTF-8", "PYTHONDONTWRITEBYTECODE=1"]
    if runtime.prestart:
        prestart = {"argv": list(runtime.prestart), "env": program_env(runtime, {})}
        env.append("FAAS_AGENT_PRESTART=" + json.dumps(prestart))
    return {
        "Image": image,
        "Cmd": ["python3", "-u", "-E", "-s", f"{AGENT_MOUNT}/agent.py"],
        "Env": env,
        "WorkingDir": WORKSPACE,
        "User": policy.user,
        "AttachStdin": True,
        "AttachStdout": True,
        "AttachStderr": True,
        "OpenStdin": True,
        "StdinOnce": False,
        "Tty": False,
        "NetworkDisabled": True,
        "Labels": {SANDBOX_LABEL: node_id, "org.faas.language": runtime.name, OWNER_LABEL: this_process()},
        "HostConfig": {
            **resource_limits(resources, policy),
            "NetworkMode": "none",
            "CapDrop": ["ALL"],
            "SecurityOpt": ["no-new-privileges"],
            "ReadonlyRootfs": True,
            "Tmpfs": {
                WORKSPACE: f"rw,exec,nosuid,nodev,size={policy.workspace_mb}m,uid=1000,gid=1000,mode=0755",
                "/tmp": f"rw,exec,nosuid,nodev,size={policy.tmp_mb}m,mode=1777",
            },
            "Binds": [f"{agent_dir}:{AGENT_MOUNT}:ro"],
            "Ulimits": [
                {"Name": "nofile", "Soft": policy.nofile_limit, "Hard": policy.nofile_limit},
                {"Name": "core", "Soft": 0, "Hard": 0},
            ],
            "LogConfig": {"Type": "none", "Config": {}},
            "Runtime": policy.runtime,
            "Init": False,
            "IpcMode": "private",
            "AutoRemove": False,
        },
    }


CHECKPOINTABLE_LABEL = "org.faas.checkpointable"
ROOT_USER = "0:0"


def checkpointable_config(
    *,
    image: str,
    runtime: LanguageRuntime,
    resources: Resources,
    policy: SandboxPolicy,
    agent_dir: str,
    node_id: str,
    command: list[str] | None = None,
    network: str | None = None,
) -> dict[str, Any]:
    """Container-create body for a sandbox that CRIU can checkpoint, restore and fork.

    The same hardening as :func:`sandbox_config` except the user: CRIU cannot restore a
    process tree that runs as ``1000:1000`` (it fails setting the rlimits as that user), so
    these sandboxes run as root *inside* the container with every capability dropped and
    ``no-new-privileges`` — root without capabilities cannot bypass file permissions, mount,
    trace or raise limits. The workspace tmpfs is therefore owned by root. CRIU saves tmpfs
    contents into the checkpoint itself, so ``/workspace`` and ``/tmp`` travel with it.
    ``policy.seccomp_profile``, when set, replaces Docker's default seccomp profile: one
    without io_uring (``faas setup`` writes it) lets CRIU dump Node.js.

    Args:
        command: the container's PID 1 instead of the agent (e.g. a long-lived interpreter).
        network: a Docker network to join (the engine's firewalled egress bridge); None: no network at all.
    """
    body = sandbox_config(
        image=image, runtime=runtime, resources=resources, policy=policy, agent_dir=agent_dir, node_id=node_id
    )
    host = body["HostConfig"]
    body["User"] = ROOT_USER
    body["Labels"][CHECKPOINTABLE_LABEL] = "1"
    if command is not None:
        body["Cmd"] = list(command)
    host["Tmpfs"] = {
        WORKSPACE: f"rw,exec,nosuid,nodev,size={policy.workspace_mb}m,mode=0755",
        "/tmp": f"rw,exec,nosuid,nodev,size={policy.tmp_mb}m,mode=1777",
    }
    # A restored container would otherwise see the host's whole cgroup tree under /sys/fs/cgroup
    # (other containers' ids and limits); in its own cgroup namespace it sees only its own cgroup.
    host["CgroupnsMode"] = "private"
    if network is not None:
        body["NetworkDisabled"] = False
        host["NetworkMode"] = network
    if policy.seccomp_profile is not None:
        # The Engine API takes the profile's content, as the docker CLI sends it for a file.
        host["SecurityOpt"] = [*host["SecurityOpt"], f"seccomp={policy.seccomp_profile}"]
    return body
