"""The FaaS blueprint: its job table, the ``ServiceBlueprint`` value, and job arguments and results as fields.

from blueprint import ExecuteJob, encode_job_args, decode_job_args

fields = encode_job_args(ExecuteJob(language="python", code="print(1)"))
request = decode_job_args(0, fields)  # -> ExecuteJob(...)
"""

from blueprint._errors import BlueprintError, JobArgumentError, ResultFieldError
from blueprint._scale import (
    MAX_FIELD_BYTES,
    MAX_FIELDS,
    TYPE_REGISTRY,
    FieldTypeValue,
    FieldValue,
    decode_fields,
    encode_fields,
    runtime_config,
)
from blueprint.job_requests import (
    BranchCreateJob,
    BranchMergeJob,
    ExecuteJob,
    JobRequest,
    SnapshotCreateJob,
    SnapshotRestoreJob,
    decode_job_args,
    decode_job_args_scale,
    encode_job_args,
    encode_job_args_scale,
)
from blueprint.jobs import JOBS, RESULT_PARAMS, JobSpec, Param, job_spec
from blueprint.render import BLUEPRINT_JSON, blueprint_json, render_blueprint, write_blueprint_json
from blueprint.results import (
    JobResult,
    decode_result_fields,
    decode_result_scale,
    encode_result_fields,
    encode_result_scale,
)

__all__ = [
    "BLUEPRINT_JSON",
    "JOBS",
    "MAX_FIELDS",
    "MAX_FIELD_BYTES",
    "RESULT_PARAMS",
    "TYPE_REGISTRY",
    "BlueprintError",
    "BranchCreateJob",
    "BranchMergeJob",
    "ExecuteJob",
    "FieldTypeValue",
    "FieldValue",
    "JobArgumentError",
    "JobRequest",
    "JobResult",
    "JobSpec",
    "Param",
    "ResultFieldError",
    "SnapshotCreateJob",
    "SnapshotRestoreJob",
    "blueprint_json",
    "decode_fields",
    "decode_job_args",
    "decode_job_args_scale",
    "decode_result_fields",
    "decode_result_scale",
    "encode_fields",
    "encode_job_args",
    "encode_job_args_scale",
    "encode_result_fields",
    "encode_result_scale",
    "job_spec",
    "render_blueprint",
    "runtime_config",
    "write_blueprint_json",
]
