from engine.container_config import resource_limits, sandbox_config
from engine.languages import RUNTIMES
from engine.models import Resources, SandboxPolicy


def config(**policy: object) -> dict:  # type: ignore[type-arg]
    return sandbox_config(
        image="img",
        runtime=RUNTIMES["go"],
        resources=Resources(cpu_cores=0.5, memory_mb=256),
        policy=SandboxPolicy(**policy),  # type: ignore[arg-type]
        agent_dir="/agent",
        node_id="node-x",
    )


def test_sandbox_is_hardened_by_default() -> None:
    host = config()["HostConfig"]
    assert host["NetworkMode"] == "none" and config()["NetworkDisabled"] is True
    assert host["CapDrop"] == ["ALL"] and "CapAdd" not in host
    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert host["ReadonlyRootfs"] is True
    assert set(host["Tmpfs"]) == {"/workspace", "/tmp"}
    assert host["Binds"] == ["/agent:/opt/faas-agent:ro"]
    assert {"Name": "nofile", "Soft": 1024, "Hard": 1024} in host["Ulimits"]
    assert host["LogConfig"]["Type"] == "none"  # a flood through the agent's stdout never reaches the disk
    assert config()["User"] == "1000:1000"


def test_limits_follow_resources_without_extra_swap() -> None:
    limits = resource_limits(Resources(cpu_cores=1.5, memory_mb=300), SandboxPolicy(pids_limit=64))
    assert limits == {"NanoCpus": 1_500_000_000, "Memory": 300 << 20, "MemorySwap": 300 << 20, "PidsLimit": 64}


def test_language_seeds_and_labels_reach_the_container() -> None:
    body = config(runtime="runsc")
    assert "FAAS_AGENT_SEED=/opt/go-cache:/tmp/go-cache" in body["Env"]
    assert body["Labels"]["org.faas.sandbox"] == "node-x"
    assert body["HostConfig"]["Runtime"] == "runsc"
