"""The blueprint's job table: one definition, used by the operator, the localnet bootstrap and the SDK."""

from __future__ import annotations

from dataclasses import dataclass

from blueprint._errors import JobArgumentError
from blueprint._scale import FieldTypeValue

STRING: FieldTypeValue = "String"
OPTIONAL_STRING: FieldTypeValue = {"Optional": "String"}
BYTES: FieldTypeValue = {"List": "Uint8"}
INT32: FieldTypeValue = "Int32"


@dataclass(frozen=True)
class Param:
    """One argument or result field of a job: its name, ``FieldType`` and meaning."""

    name: str
    field_type: FieldTypeValue
    description: str


@dataclass(frozen=True)
class JobSpec:
    """One job of the blueprint: its index on chain, name, description, arguments and result fields."""

    index: int
    name: str
    description: str
    params: tuple[Param, ...]
    result: tuple[Param, ...]


RESULT_PARAMS: tuple[Param, ...] = (
    Param("receipt_hash", BYTES, "keccak256 of the signed execution receipt (32 bytes)"),
    Param("signature", BYTES, "the operator's secp256k1 signature of receipt_hash, r||s||v (65 bytes)"),
    Param("status", STRING, "completed, failed or timeout"),
    Param("exit_code", INT32, "the program's exit code (-1 when it never ran)"),
    Param(
        "reference",
        STRING,
        "what to continue from: the new snapshot or instance, else the execution id; the error code when "
        "the job failed before running",
    ),
)

JOBS: tuple[JobSpec, ...] = (
    JobSpec(
        0,
        "execute",
        "Run code in a hardened sandbox and attest the output",
        (
            Param("language", STRING, "python, javascript, go or rust"),
            Param("code", STRING, "the program's source"),
            Param("mode", STRING, "ephemeral, cached, checkpointed, branched or persistent"),
            Param("resources", STRING, 'JSON object such as {"memory_mb": 512}; "" = defaults'),
            Param("env", STRING, 'JSON object of environment variables; "" = none'),
            Param("files", STRING, 'JSON object path -> base64 content; "" = none'),
            Param("snapshot_id", OPTIONAL_STRING, "run on top of this snapshot"),
            Param("branch_id", OPTIONAL_STRING, "run on this branch"),
        ),
        RESULT_PARAMS,
    ),
    JobSpec(
        1,
        "snapshot_create",
        "Snapshot a persistent instance",
        (Param("instance_id", STRING, "the instance to snapshot"),),
        RESULT_PARAMS,
    ),
    JobSpec(
        2,
        "snapshot_restore",
        "Restore a snapshot into a new instance",
        (Param("snapshot_id", STRING, "the snapshot to restore"),),
        RESULT_PARAMS,
    ),
    JobSpec(
        3,
        "branch_create",
        "Create a named branch from a snapshot",
        (Param("snapshot_id", STRING, "the branch's base snapshot"), Param("name", STRING, "the branch's name")),
        RESULT_PARAMS,
    ),
    JobSpec(
        4,
        "branch_merge",
        "Merge branches into a new snapshot",
        (
            Param("branch_ids", STRING, 'JSON list of branch ids, e.g. ["br_1", "br_2"]'),
            Param("strategy", STRING, "three_way, ours or theirs"),
        ),
        RESULT_PARAMS,
    ),
)


def job_spec(job: int | str) -> JobSpec:
    """The job with this index or name.

    Raises:
        JobArgumentError: no such job in the blueprint.
    """
    for spec in JOBS:
        if job in (spec.index, spec.name):
            return spec
    known = ", ".join(f"{spec.index} {spec.name}" for spec in JOBS)
    raise JobArgumentError(f"unknown job {job!r}; this blueprint has jobs {known}")
