"""Job results: the five result fields round-trip and malformed ones are refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blueprint import (
    JobResult,
    ResultFieldError,
    decode_fields,
    decode_result_fields,
    decode_result_scale,
    encode_result_fields,
    encode_result_scale,
)

results = st.builds(
    JobResult,
    receipt_hash=st.binary(min_size=32, max_size=32),
    signature=st.binary(min_size=65, max_size=65),
    status=st.sampled_from(["completed", "failed"]),
    exit_code=st.integers(-(2**31), 2**31 - 1),
    reference=st.text(max_size=40),
)


@given(results)
def test_results_round_trip(result):
    assert decode_result_scale(encode_result_scale(result)) == result
    assert decode_result_fields(encode_result_fields(result)) == result


def test_result_shape_is_the_contracts():
    result = JobResult(b"\x01" * 32, b"\x02" * 65, "completed", 0, "exec_1")
    fields = decode_fields(encode_result_scale(result))
    assert fields[0] == {"List": ("Uint8", [{"Uint8": 1}] * 32)}
    assert fields[2:] == [{"String": b"completed"}, {"Int32": 0}, {"String": b"exec_1"}]


def test_wrong_sizes_are_refused():
    with pytest.raises(ResultFieldError, match="receipt_hash must be 32 bytes"):
        JobResult(b"\x01" * 31, b"\x02" * 65, "completed", 0, "")
    with pytest.raises(ResultFieldError, match="signature must be 65 bytes"):
        decode_result_fields(
            [
                {"List": ("Uint8", [{"Uint8": 1}] * 32)},
                {"List": ("Uint8", [])},
                {"String": "x"},
                {"Int32": 0},
                {"String": ""},
            ]
        )
    with pytest.raises(ResultFieldError, match="5 fields"):
        decode_result_fields([])
    with pytest.raises(ResultFieldError, match="does not fit an Int32"):
        encode_result_fields(JobResult(b"\x01" * 32, b"\x02" * 65, "completed", 2**31, ""))
