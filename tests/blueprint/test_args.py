"""Job arguments: Python request -> Field values -> SCALE bytes -> request again, and refusals in words."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scalecodec.base import RuntimeConfigurationObject, ScaleBytes
from scalecodec.type_registry import load_type_registry_preset

from blueprint import (
    TYPE_REGISTRY,
    BranchCreateJob,
    BranchMergeJob,
    ExecuteJob,
    JobArgumentError,
    SnapshotCreateJob,
    SnapshotRestoreJob,
    decode_fields,
    decode_job_args,
    decode_job_args_scale,
    encode_fields,
    encode_job_args,
    encode_job_args_scale,
)

texts = st.text(max_size=60)
ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=20)
optional_ids = st.none() | ids
executes = st.builds(
    ExecuteJob,
    language=st.sampled_from(["python", "javascript", "go", "rust"]),
    code=texts,
    mode=st.sampled_from(["ephemeral", "cached", "persistent"]),
    resources=st.dictionaries(st.sampled_from(["memory_mb", "timeout_ms"]), st.integers(1, 10_000), max_size=2),
    env=st.dictionaries(ids, texts, max_size=3),
    files=st.dictionaries(ids, st.binary(max_size=30).map(lambda raw: base64.b64encode(raw).decode()), max_size=2),
    snapshot_id=optional_ids,
    branch_id=optional_ids,
)
requests = (
    executes
    | st.builds(SnapshotCreateJob, ids)
    | st.builds(SnapshotRestoreJob, ids)
    | st.builds(BranchCreateJob, ids, texts)
    | st.builds(BranchMergeJob, st.lists(ids, max_size=4).map(tuple), st.sampled_from(["three_way", "ours"]))
)


@given(requests)
def test_requests_round_trip_through_scale(request):
    args_scale = encode_job_args_scale(request)
    assert decode_job_args_scale(request.JOB, args_scale) == request


def stock_runtime() -> RuntimeConfigurationObject:
    """Field decoded as substrate-interface does from metadata: Bytes as text, or 0x-hex when not UTF-8."""
    config = RuntimeConfigurationObject(ss58_format=42)
    config.update_type_registry(load_type_registry_preset("core"))
    config.update_type_registry(json.loads(json.dumps(TYPE_REGISTRY).replace("RawBytes", "Bytes")))
    return config


STOCK = stock_runtime()


@given(requests.filter(lambda request: not any((text or "").startswith("0x") for text in request.to_texts())))
def test_requests_round_trip_through_substrate_interface_values(request):
    args_scale = encode_job_args_scale(request)
    stock_value = STOCK.create_scale_object("Vec<Field>", data=ScaleBytes(bytearray(args_scale))).decode()
    assert decode_job_args(request.JOB, stock_value) == request
    assert decode_job_args(request.JOB, encode_job_args(request)) == request


def test_execute_args_are_the_contracts_eight_fields():
    fields = encode_job_args(ExecuteJob(language="python", code="print(1)", snapshot_id="snap_1"))
    decoded = decode_fields(encode_fields(fields))
    assert decoded[0] == {"String": b"python"}
    assert decoded[3] == {"String": b""}
    assert decoded[6] == {"Optional": ("String", {"String": b"snap_1"})}
    assert decoded[7] == {"Optional": ("String", None)}


def test_code_that_looks_like_hex_stays_code():
    request = ExecuteJob(language="python", code="0x1F")
    assert decode_job_args_scale(0, encode_job_args_scale(request)).code == "0x1F"
    assert decode_job_args(0, [{"String": "python"}, {"String": "0x1F"}, *encode_job_args(request)[2:]]) == request


def test_substrate_interface_text_form_is_accepted():
    fields = [
        {"String": "python"},
        {"String": "print(1)"},
        {"String": "ephemeral"},
        {"String": '{"memory_mb": 256}'},
        {"String": ""},
        {"String": ""},
        {"Optional": ["String", None]},
        {"Optional": ["String", {"String": "br_1"}]},
    ]
    request = decode_job_args(0, fields)
    assert request == ExecuteJob("python", "print(1)", "ephemeral", {"memory_mb": 256}, branch_id="br_1")


@pytest.mark.parametrize(
    ("job", "fields", "message"),
    [
        (7, [], "unknown job 7"),
        (1, [], "takes 1 arguments"),
        (1, [{"Int32": 1}], "must be a String field, not Int32"),
        (2, [{"String": "0xff"}], "not valid UTF-8"),
        (4, [{"String": "[1, 2"}, {"String": "ours"}], "branch_ids is not valid JSON"),
        (4, [{"String": '"x"'}, {"String": "ours"}], "JSON list of strings"),
        (3, [{"String": "s"}, "Bool"], "must be a String field"),
    ],
)
def test_bad_arguments_are_refused_with_a_reason(job, fields, message):
    with pytest.raises(JobArgumentError, match=message):
        decode_job_args(job, fields)


def test_bad_execute_json_names_the_argument():
    good = encode_job_args(ExecuteJob(language="python", code="1"))
    for position, text, message in [
        (3, "{", "resources is not valid JSON"),
        (4, "[]", "env must be a JSON object"),
        (4, '{"A": 1}', "env must map names to strings"),
        (5, '{"a.txt": "***"}', "is not base64"),
    ]:
        fields = list(good)
        fields[position] = {"String": text}
        with pytest.raises(JobArgumentError, match=message):
            decode_job_args(0, fields)


def test_optional_of_the_wrong_type_is_refused():
    fields = encode_job_args(ExecuteJob(language="python", code="1"))
    fields[6] = {"Optional": ("Int32", None)}
    with pytest.raises(JobArgumentError, match=r"Optional\(String\)"):
        decode_job_args(0, fields)


def test_field_over_1024_bytes_is_refused():
    with pytest.raises(JobArgumentError, match="limit is 1024 bytes"):
        encode_job_args(ExecuteJob(language="python", code="x" * 1100))
    encode_job_args(ExecuteJob(language="python", code="x" * 1000))


def test_more_than_256_fields_are_refused():
    with pytest.raises(JobArgumentError, match="limit of 256"):
        encode_fields([{"Bool": True}] * 257)


def test_garbage_scale_bytes_are_refused():
    with pytest.raises(JobArgumentError, match=r"not a valid Vec<Field>"):
        decode_job_args_scale(1, b"\x04\x0b")
