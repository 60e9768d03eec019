"""Typed job requests, and their conversion to and from the chain's ``Vec<Field>`` arguments.

Every job argument is ``String`` or ``Optional(String)`` (see ``jobs.JOBS``); structured ones (resources,
env, files, branch ids) are JSON text. A request knows its arguments as texts in table order; the table
decides how each travels.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from blueprint._errors import JobArgumentError
from blueprint._fields import field_type_name, optional_text_field, read_optional_text, read_text, text_field
from blueprint._scale import FieldValue, check_field_limits, decode_fields, encode_fields
from blueprint.jobs import OPTIONAL_STRING, STRING, JobSpec, job_spec

Texts = tuple[str | None, ...]


@dataclass(frozen=True)
class ExecuteJob:
    """Job 0: run ``code`` in ``language`` (``files`` maps a path to its base64 content)."""

    JOB: ClassVar[int] = 0
    language: str
    code: str
    mode: str = "ephemeral"
    resources: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    snapshot_id: str | None = None
    branch_id: str | None = None

    def to_texts(self) -> Texts:
        return (
            self.language,
            self.code,
            self.mode,
            _dump(self.resources),
            _dump(self.env),
            _dump(self.files),
            self.snapshot_id,
            self.branch_id,
        )

    @classmethod
    def from_texts(cls, texts: Texts) -> Self:
        language, code, mode, resources, env, files, snapshot_id, branch_id = texts
        env_map = _load_object(env, "env")
        if not all(isinstance(value, str) for value in env_map.values()):
            raise JobArgumentError("env must map names to strings")
        file_map = _load_object(files, "files")
        for path, content in file_map.items():
            if not isinstance(content, str) or not _is_base64(content):
                raise JobArgumentError(f"files[{path!r}] is not base64 text")
        return cls(
            _text(language),
            _text(code),
            _text(mode) or "ephemeral",
            _load_object(resources, "resources"),
            env_map,
            file_map,
            snapshot_id,
            branch_id,
        )


@dataclass(frozen=True)
class SnapshotCreateJob:
    """Job 1: snapshot a persistent instance."""

    JOB: ClassVar[int] = 1
    instance_id: str

    def to_texts(self) -> Texts:
        return (self.instance_id,)

    @classmethod
    def from_texts(cls, texts: Texts) -> Self:
        return cls(_text(texts[0]))


@dataclass(frozen=True)
class SnapshotRestoreJob:
    """Job 2: restore a snapshot into a new instance."""

    JOB: ClassVar[int] = 2
    snapshot_id: str

    def to_texts(self) -> Texts:
        return (self.snapshot_id,)

    @classmethod
    def from_texts(cls, texts: Texts) -> Self:
        return cls(_text(texts[0]))


@dataclass(frozen=True)
class BranchCreateJob:
    """Job 3: create the branch ``name`` from a snapshot."""

    JOB: ClassVar[int] = 3
    snapshot_id: str
    name: str

    def to_texts(self) -> Texts:
        return (self.snapshot_id, self.name)

    @classmethod
    def from_texts(cls, texts: Texts) -> Self:
        return cls(_text(texts[0]), _text(texts[1]))


@dataclass(frozen=True)
class BranchMergeJob:
    """Job 4: merge branches into a new snapshot with ``strategy``."""

    JOB: ClassVar[int] = 4
    branch_ids: tuple[str, ...]
    strategy: str = "three_way"

    def to_texts(self) -> Texts:
        return (json.dumps(list(self.branch_ids)), self.strategy)

    @classmethod
    def from_texts(cls, texts: Texts) -> Self:
        branch_ids = _load(_text(texts[0]), "branch_ids")
        if not isinstance(branch_ids, list) or not all(isinstance(item, str) for item in branch_ids):
            raise JobArgumentError("branch_ids must be a JSON list of strings")
        return cls(tuple(branch_ids), _text(texts[1]))


JobRequest = ExecuteJob | SnapshotCreateJob | SnapshotRestoreJob | BranchCreateJob | BranchMergeJob
_REQUEST_TYPES: dict[int, type[JobRequest]] = {
    request_type.JOB: request_type
    for request_type in (ExecuteJob, SnapshotCreateJob, SnapshotRestoreJob, BranchCreateJob, BranchMergeJob)
}


def encode_job_args(request: JobRequest) -> list[FieldValue]:
    """The ``Vec<Field>`` arguments of ``request``, in substrate-interface's value form.

    Raises:
        JobArgumentError: an argument breaks the chain's size limits.
    """
    spec = job_spec(request.JOB)
    texts = request.to_texts()
    fields = [_encode_param(param.field_type, text) for param, text in zip(spec.params, texts, strict=True)]
    check_field_limits(fields)
    return fields


def encode_job_args_scale(request: JobRequest) -> bytes:
    """The exact SCALE bytes of ``request``'s ``Vec<Field>`` arguments."""
    return encode_fields(encode_job_args(request))


def decode_job_args(job: int, fields: Sequence[FieldValue]) -> JobRequest:
    """The typed request of job ``job`` from its ``Field`` arguments (as substrate-interface decodes them).

    Raises:
        JobArgumentError: unknown job, wrong number or types of arguments, bad JSON or base64.
    """
    spec = job_spec(job)
    if len(fields) != len(spec.params):
        raise JobArgumentError(
            f"job {spec.name} takes {len(spec.params)} arguments "
            f"({', '.join(param.name for param in spec.params)}), not {len(fields)}"
        )
    texts = tuple(_decode_param(spec, position, value) for position, value in enumerate(fields))
    return _REQUEST_TYPES[spec.index].from_texts(texts)


def decode_job_args_scale(job: int, args_scale: bytes) -> JobRequest:
    """The typed request of job ``job`` from the SCALE bytes of its ``Vec<Field>`` arguments."""
    return decode_job_args(job, decode_fields(args_scale))


def _encode_param(field_type: Any, text: str | None) -> FieldValue:
    if field_type == OPTIONAL_STRING:
        return optional_text_field(text)
    assert field_type == STRING and text is not None
    return text_field(text)


def _decode_param(spec: JobSpec, position: int, value: FieldValue) -> str | None:
    param = spec.params[position]
    what = f"argument {position} ({param.name}) of job {spec.name}"
    if param.field_type == OPTIONAL_STRING:
        return read_optional_text(value, what)
    if param.field_type == STRING:
        return read_text(value, what)
    raise JobArgumentError(f"{what} has an unsupported type {field_type_name(param.field_type)}")


def _text(text: str | None) -> str:
    assert text is not None  # only Optional(String) arguments may be None, and they are read as such
    return text


def _dump(value: dict[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":")) if value else ""


def _load(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise JobArgumentError(f"{what} is not valid JSON: {exc.msg} at position {exc.pos}") from None


def _load_object(text: str | None, what: str) -> dict[str, Any]:
    if not text:
        return {}
    value = _load(text, what)
    if not isinstance(value, dict):
        raise JobArgumentError(f"{what} must be a JSON object")
    return value


def _is_base64(text: str) -> bool:
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True
