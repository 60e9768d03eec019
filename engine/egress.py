"""Egress for sandboxes that may reach the internet: one Docker bridge and the host firewall around it.

Sandboxes with network access join :data:`EGRESS_NETWORK`, a bridge the engine creates on
demand with inter-container traffic disabled (``enable_icc=false``), so two sandboxes on it
cannot talk to each other. Docker masquerades what leaves the bridge, as for any bridge.
On top of that the engine ensures, idempotently, before every such sandbox starts:

* ``INPUT``: everything from the bridge to the host itself is dropped (the node's API,
  dockerd's TCP ports, sshd, the bridge's own gateway address, any host address), except
  replies to connections the host opened;
* ``DOCKER-USER`` (which Docker evaluates first in ``FORWARD`` and never rewrites): traffic
  from the bridge to private, shared, loopback, link-local (cloud metadata), multicast and
  reserved IPv4 ranges is dropped, which covers other bridges, other containers and the
  node's LAN; the public internet stays reachable;
* IPv6 from the bridge is dropped on ``INPUT`` and ``FORWARD`` (the network has no IPv6).

The rules live in chains of our own (:data:`INPUT_CHAIN`, :data:`FORWARD_CHAIN`) with one
jump each from the built-in chains, so :func:`remove_egress` takes them out cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from engine.docker import DockerClient
from engine.errors import DockerAPIError, DockerNotFound, SandboxFailure

EGRESS_NETWORK = "faas-egress"
EGRESS_BRIDGE = "faas-egress0"
INPUT_CHAIN = "FAAS-EGRESS-IN"
FORWARD_CHAIN = "FAAS-EGRESS-FWD"
IPTABLES_TIMEOUT_S = 10.0
BLOCKED_IPV4 = (
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "224.0.0.0/4",
    "240.0.0.0/4",
)
"""Destinations no sandbox may forward to: everything that is not the public internet."""

Rule = tuple[str, list[str]]
"""A command (``iptables`` or ``ip6tables``) and a rule spec: ``-t table``, chain and match, no ``-A``/``-I``."""


def network_body(name: str = EGRESS_NETWORK, bridge: str = EGRESS_BRIDGE) -> dict[str, Any]:
    """The network-create body of the egress bridge (pure)."""
    return {
        "Name": name,
        "Driver": "bridge",
        "CheckDuplicate": True,
        "EnableIPv6": False,
        "Internal": False,
        "Options": {
            "com.docker.network.bridge.name": bridge,
            "com.docker.network.bridge.enable_icc": "false",
            "com.docker.network.bridge.enable_ip_masquerade": "true",
        },
        "Labels": {"org.faas.egress": "1"},
    }


def chain_rules() -> list[Rule]:
    """The rules inside our chains, in order (pure)."""
    rules: list[Rule] = [
        (
            "iptables",
            ["-t", "filter", INPUT_CHAIN, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "RETURN"],
        ),
        ("iptables", ["-t", "filter", INPUT_CHAIN, "-j", "DROP"]),
    ]
    rules += [("iptables", ["-t", "filter", FORWARD_CHAIN, "-d", cidr, "-j", "DROP"]) for cidr in BLOCKED_IPV4]
    return rules


def jump_rules(bridge: str = EGRESS_BRIDGE) -> list[Rule]:
    """The rules that send the bridge's traffic into our chains, inserted first in the built-in chains (pure)."""
    return [
        ("iptables", ["-t", "filter", "INPUT", "-i", bridge, "-j", INPUT_CHAIN]),
        ("iptables", ["-t", "filter", "DOCKER-USER", "-i", bridge, "-j", FORWARD_CHAIN]),
        ("ip6tables", ["-t", "filter", "INPUT", "-i", bridge, "-j", "DROP"]),
        ("ip6tables", ["-t", "filter", "FORWARD", "-i", bridge, "-j", "DROP"]),
    ]


async def ensure_egress(docker: DockerClient) -> str:
    """The egress network's name, after creating it if needed and ensuring the host firewall around it.

    Raises:
        SandboxFailure: the network or the firewall could not be set up (no sandbox joins it then).
    """
    await _ensure_network(docker)
    await ensure_firewall()
    return EGRESS_NETWORK


async def _ensure_network(docker: DockerClient) -> None:
    try:
        network = await docker.inspect_network(EGRESS_NETWORK)
    except DockerNotFound:
        try:
            await docker.create_network(network_body())
        except DockerAPIError as exc:
            if exc.status != 409:  # another start created it at the same moment
                raise SandboxFailure(f"cannot create the egress network {EGRESS_NETWORK}: {exc.message}") from exc
        return
    options = network.get("Options") or {}
    if options.get("com.docker.network.bridge.name") != EGRESS_BRIDGE or options.get(
        "com.docker.network.bridge.enable_icc"
    ) not in ("false", "0"):
        raise SandboxFailure(
            f"a Docker network named {EGRESS_NETWORK} exists without bridge {EGRESS_BRIDGE} and enable_icc=false; "
            "remove it (docker network rm) so the engine creates its own"
        )


async def ensure_firewall(bridge: str = EGRESS_BRIDGE) -> None:
    """Create our chains, their rules and the jumps to them where missing; running it again changes nothing."""
    for chain in (INPUT_CHAIN, FORWARD_CHAIN, "DOCKER-USER"):  # Docker makes DOCKER-USER; be sure
        await _iptables("iptables", ["-t", "filter", "-N", chain], check=False)
    for command, spec in chain_rules():
        await _ensure_rule(command, spec, insert=False)
    for command, spec in jump_rules(bridge):
        await _ensure_rule(command, spec, insert=True)


async def _ensure_rule(command: str, spec: list[str], *, insert: bool) -> None:
    table, chain, match = spec[:2], spec[2], spec[3:]
    if not await _iptables(command, [*table, "-C", chain, *match], check=False):
        await _iptables(command, [*table, *(["-I", chain, "1"] if insert else ["-A", chain]), *match])


async def remove_egress(docker: DockerClient, bridge: str = EGRESS_BRIDGE) -> None:
    """Take out the jumps, our chains and the network (when no sandbox uses it); missing parts are skipped."""
    for command, spec in jump_rules(bridge):
        await _iptables(command, [*spec[:2], "-D", spec[2], *spec[3:]], check=False)
    for chain in (INPUT_CHAIN, FORWARD_CHAIN):
        await _iptables("iptables", ["-t", "filter", "-F", chain], check=False)
        await _iptables("iptables", ["-t", "filter", "-X", chain], check=False)
    with contextlib.suppress(DockerNotFound):
        await docker.remove_network(EGRESS_NETWORK)


async def _iptables(command: str, arguments: list[str], *, check: bool = True) -> bool:
    """Run one iptables command (waiting for the xtables lock); its success, or SandboxFailure when ``check``."""
    try:
        process = await asyncio.create_subprocess_exec(
            command, "-w", *arguments, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
    except OSError as exc:
        raise SandboxFailure(f"cannot run {command} to firewall the egress network: {exc}") from exc
    try:
        async with asyncio.timeout(IPTABLES_TIMEOUT_S):
            _, stderr = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        raise SandboxFailure(f"{command} {' '.join(arguments)} did not finish in time") from None
    if process.returncode != 0 and check:
        raise SandboxFailure(f"{command} {' '.join(arguments)}: {stderr.decode(errors='replace').strip()}")
    return process.returncode == 0


__all__ = [
    "EGRESS_BRIDGE",
    "EGRESS_NETWORK",
    "chain_rules",
    "ensure_egress",
    "ensure_firewall",
    "jump_rules",
    "network_body",
    "remove_egress",
]
