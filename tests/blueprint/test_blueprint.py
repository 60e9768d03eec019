"""The job table as the chain sees it: the ServiceBlueprint value and the committed blueprint.json."""

from __future__ import annotations

import json

import pytest
from scalecodec.base import RuntimeConfigurationObject
from scalecodec.type_registry import load_type_registry_preset

from blueprint import (
    BLUEPRINT_JSON,
    JOBS,
    TYPE_REGISTRY,
    JobArgumentError,
    blueprint_json,
    job_spec,
    render_blueprint,
    runtime_config,
    write_blueprint_json,
)

# The contract's ServiceBlueprint, as a scalecodec registry: rendering must SCALE-encode against it.
SERVICE_TYPES = {
    "types": {
        "JobMetadata": {"type": "struct", "type_mapping": [["name", "Bytes"], ["description", "Option<Bytes>"]]},
        "JobDefinition": {
            "type": "struct",
            "type_mapping": [["metadata", "JobMetadata"], ["params", "Vec<FieldType>"], ["result", "Vec<FieldType>"]],
        },
        "ServiceMetadata": {
            "type": "struct",
            "type_mapping": [
                [name, "Bytes" if name == "name" else "Option<Bytes>"]
                for name in (
                    "name",
                    "description",
                    "author",
                    "category",
                    "code_repository",
                    "logo",
                    "website",
                    "license",
                )
            ],
        },
        "BlueprintServiceManager": {"type": "enum", "type_mapping": [["Evm", "H160"]]},
        "MasterBlueprintServiceManagerRevision": {
            "type": "enum",
            "type_mapping": [["Latest", "Null"], ["Specific", "u32"]],
        },
        "ServiceBlueprint": {
            "type": "struct",
            "type_mapping": [
                ["metadata", "ServiceMetadata"],
                ["jobs", "Vec<JobDefinition>"],
                ["registration_params", "Vec<FieldType>"],
                ["request_params", "Vec<FieldType>"],
                ["manager", "BlueprintServiceManager"],
                ["master_manager_revision", "MasterBlueprintServiceManagerRevision"],
            ],
        },
    }
}


def service_runtime() -> RuntimeConfigurationObject:
    config = RuntimeConfigurationObject(ss58_format=42)
    config.update_type_registry(load_type_registry_preset("core"))
    config.update_type_registry(TYPE_REGISTRY)
    config.update_type_registry(SERVICE_TYPES)
    return config


def test_committed_blueprint_json_is_the_rendering():
    assert BLUEPRINT_JSON.read_text(encoding="utf-8") == blueprint_json()
    assert json.loads(BLUEPRINT_JSON.read_text(encoding="utf-8")) == render_blueprint()


def test_write_blueprint_json_writes_the_rendering(tmp_path):
    path = write_blueprint_json(tmp_path / "blueprint.json")
    assert json.loads(path.read_text()) == render_blueprint()


def test_rendering_scale_encodes_as_the_contracts_service_blueprint():
    config = service_runtime()
    encoded = config.create_scale_object("ServiceBlueprint").encode(render_blueprint())
    decoded = config.create_scale_object("ServiceBlueprint", data=encoded).decode()
    assert [job["metadata"]["name"] for job in decoded["jobs"]] == [spec.name for spec in JOBS]
    assert decoded["jobs"][0]["params"][6] == {"Optional": "String"}
    assert decoded["jobs"][0]["result"] == [{"List": "Uint8"}, {"List": "Uint8"}, "String", "Int32", "String"]
    assert decoded["manager"] == {"Evm": "0x" + "00" * 20}


def test_field_type_indices_follow_the_contract():
    config = runtime_config()

    def index(value) -> int:
        return config.create_scale_object("FieldType").encode(value).data[0]

    assert [index(name) for name in ("Void", "Bool", "Uint8", "Int32", "String", "AccountId")] == [0, 1, 2, 7, 10, 100]
    assert index({"Optional": "String"}) == 12
    assert index({"Array": (3, "Uint8")}) == 13
    assert index({"List": "Uint8"}) == 14
    assert index({"Struct": ["Bool"]}) == 15


def test_jobs_are_numbered_as_the_contract_says():
    assert [(spec.index, spec.name) for spec in JOBS] == [
        (0, "execute"),
        (1, "snapshot_create"),
        (2, "snapshot_restore"),
        (3, "branch_create"),
        (4, "branch_merge"),
    ]
    assert len(job_spec("execute").params) == 8
    assert all(len(spec.result) == 5 for spec in JOBS)


def test_unknown_job_is_refused_by_name():
    with pytest.raises(JobArgumentError, match="unknown job 9"):
        job_spec(9)
