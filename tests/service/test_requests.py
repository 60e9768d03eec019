import pytest

from service.config import Settings
from service.errors import InvalidRequest
from service.requests import (
    ExecutionRequest,
    RequestedResources,
    check_env,
    check_file_path,
    check_language_and_mode,
    decode_files,
    infer_mode,
    resolve_resources,
)

SETTINGS = Settings(max_cpu_cores=2, max_memory_mb=1024, max_timeout_ms=60_000, max_files_bytes=8)


def test_defaults_fill_missing_resources() -> None:
    resources = resolve_resources(RequestedResources(memory_mb=256), SETTINGS)
    assert (resources.cpu_cores, resources.memory_mb, resources.timeout_ms) == (1.0, 256, 30_000)


@pytest.mark.parametrize(
    ("requested", "field"),
    [
        (RequestedResources(cpu_cores=4), "resources.cpu_cores"),
        (RequestedResources(memory_mb=2048), "resources.memory_mb"),
        (RequestedResources(memory_mb=4), "resources.memory_mb"),
        (RequestedResources(timeout_ms=600_000), "resources.timeout_ms"),
    ],
)
def test_resources_outside_bounds_are_refused(requested: RequestedResources, field: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        resolve_resources(requested, SETTINGS)
    assert caught.value.details["field"] == field


@pytest.mark.parametrize("path", ["", "/etc/passwd", "../x", "a/../../x", "a//b", "./a", "a\\b", "a\x00b"])
def test_escaping_paths_are_refused(path: str) -> None:
    with pytest.raises(InvalidRequest):
        check_file_path(path)


def test_files_must_be_base64_small_and_not_the_main_file() -> None:
    ok = ExecutionRequest(language="python", code="", files={"dir/a.txt": "aGk="})
    assert decode_files(ok, SETTINGS) == {"dir/a.txt": b"hi"}
    for files in ({"a.txt": "not base64!"}, {"main.py": "aGk="}, {"big": "aGVsbG8gd29ybGQ="}):
        with pytest.raises(InvalidRequest):
            decode_files(ExecutionRequest(language="python", code="", files=files), SETTINGS)


def test_env_names_and_values_are_checked() -> None:
    check_env({"GOOD_NAME": "value", "_x1": ""})
    for env in ({"1BAD": "x"}, {"A-B": "x"}, {"A": "nul\x00"}):
        with pytest.raises(InvalidRequest):
            check_env(env)


def test_stateful_references_belong_to_their_modes() -> None:
    check_language_and_mode(ExecutionRequest(language="go", code="", mode="cached"))
    check_language_and_mode(ExecutionRequest(language="go", code="", mode="branched", branch_id="branch_x"))
    check_language_and_mode(ExecutionRequest(language="go", code="", mode="checkpointed", snapshot_id="snap_x"))
    refused = [
        ExecutionRequest(language="python", code="", mode="branched"),
        ExecutionRequest(language="python", code="", mode="ephemeral", instance_id="inst_x"),
        ExecutionRequest(language="python", code="", mode="persistent", branch_id="branch_x"),
        ExecutionRequest(language="python", code="", mode="checkpointed", stdin="x"),
        ExecutionRequest(language="cobol", code=""),
        ExecutionRequest(language="python", code="", mode="sideways"),
    ]
    for request in refused:
        with pytest.raises(InvalidRequest):
            check_language_and_mode(request)


def test_the_mode_follows_from_the_references_when_not_given() -> None:
    assert infer_mode(None, instance_id="inst_x", branch_id=None) == "persistent"
    assert infer_mode(None, instance_id=None, branch_id="branch_x") == "branched"
    assert infer_mode(None, instance_id=None, branch_id=None) == "ephemeral"
    assert infer_mode("cached", instance_id="inst_x", branch_id=None) == "cached"
