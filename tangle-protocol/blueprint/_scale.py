"""SCALE encoding of the Services pallet's ``Field`` and ``FieldType`` without a chain.

A scalecodec type registry mirrors the pallet's enums (variant indices are sparse: ``AccountId`` is 100,
so unused indices are padded with nameless variants that fail to decode). Values use the form substrate-interface
accepts and returns: a unit variant is its name (``"String"``), a variant with a payload is a one-key dict
(``{"Int32": -1}``), a tuple payload is a tuple (``{"Optional": ("String", None)}``).
One difference: decoding here yields a ``String`` payload as ``bytes`` (``RawBytes``), where substrate-interface
yields text or, for invalid UTF-8, ``0x``-hex -- ambiguous for text that looks like hex.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from scalecodec.base import RuntimeConfigurationObject, ScaleBytes
from scalecodec.exceptions import RemainingScaleBytesNotEmptyException
from scalecodec.type_registry import load_type_registry_preset
from scalecodec.types import Bytes

from blueprint._errors import JobArgumentError

FieldValue = Any
"""A ``Field`` in substrate-interface's form, e.g. ``{"String": "0x70..."}`` or ``{"Int32": 0}``."""
FieldTypeValue = Any
"""A ``FieldType`` in substrate-interface's form, e.g. ``"String"`` or ``{"Optional": "String"}``."""

MAX_FIELDS = 256
MAX_FIELD_BYTES = 1024

FIELD_TYPE_VARIANTS: tuple[tuple[int, str, str], ...] = (
    (0, "Void", "Null"),
    (1, "Bool", "Null"),
    (2, "Uint8", "Null"),
    (3, "Int8", "Null"),
    (4, "Uint16", "Null"),
    (5, "Int16", "Null"),
    (6, "Uint32", "Null"),
    (7, "Int32", "Null"),
    (8, "Uint64", "Null"),
    (9, "Int64", "Null"),
    (10, "String", "Null"),
    (12, "Optional", "FieldType"),
    (13, "Array", "(u64, FieldType)"),
    (14, "List", "FieldType"),
    (15, "Struct", "Vec<FieldType>"),
    (100, "AccountId", "Null"),
)
FIELD_VARIANTS: tuple[tuple[int, str, str], ...] = (
    (0, "Optional", "(FieldType, Option<Field>)"),
    (1, "Bool", "bool"),
    (2, "Uint8", "u8"),
    (3, "Int8", "i8"),
    (4, "Uint16", "u16"),
    (5, "Int16", "i16"),
    (6, "Uint32", "u32"),
    (7, "Int32", "i32"),
    (8, "Uint64", "u64"),
    (9, "Int64", "i64"),
    (10, "String", "RawBytes"),
    (12, "Array", "(FieldType, Vec<Field>)"),
    (13, "List", "(FieldType, Vec<Field>)"),
    (14, "Struct", "(RawBytes, Vec<(RawBytes, Field)>)"),
    (100, "AccountId", "AccountId"),
)


def _type_mapping(variants: tuple[tuple[int, str, str], ...]) -> list[list[str | None]]:
    # Unused indices get a payload type that does not exist, so decoding them fails instead of yielding None.
    size = max(index for index, _, _ in variants) + 1
    mapping: list[list[str | None]] = [[None, "UnusedVariantIndex"] for _ in range(size)]
    for index, name, payload in variants:
        mapping[index] = [name, payload]
    return mapping


TYPE_REGISTRY: dict[str, Any] = {
    "types": {
        "FieldType": {"type": "enum", "type_mapping": _type_mapping(FIELD_TYPE_VARIANTS)},
        "Field": {"type": "enum", "type_mapping": _type_mapping(FIELD_VARIANTS)},
    }
}


class RawBytes(Bytes):  # type: ignore[misc]
    """``Vec<u8>`` that decodes to ``bytes`` (scalecodec's ``Bytes`` guesses text or hex)."""

    def process(self) -> bytes:
        length = self.process_type("Compact<u32>").value
        raw = bytes(self.get_next_bytes(length))
        self.value_object = raw
        return raw


@functools.cache
def runtime_config() -> RuntimeConfigurationObject:
    """A scalecodec runtime knowing the core types plus ``Field``/``FieldType`` (ss58 format 42)."""
    config = RuntimeConfigurationObject(ss58_format=42)
    config.update_type_registry(load_type_registry_preset("core"))
    config.update_type_registry(TYPE_REGISTRY)
    raw_bytes = type("RawBytes", (RawBytes,), {"runtime_config": config})
    config.type_registry["types"]["rawbytes"] = raw_bytes
    return config


def encode_scale(type_string: str, value: Any) -> bytes:
    """SCALE-encode ``value`` as ``type_string`` (e.g. ``"Vec<Field>"``)."""
    try:
        encoded = runtime_config().create_scale_object(type_string).encode(value)
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        raise JobArgumentError(f"cannot encode {type_string}: {exc}") from exc
    return bytes(encoded.data)


def decode_scale(type_string: str, data: bytes) -> Any:
    """Decode SCALE bytes as ``type_string``; every byte must be used."""
    scale_object = runtime_config().create_scale_object(type_string, data=ScaleBytes(bytearray(data)))
    try:
        value = scale_object.decode(check_remaining=True)
    except (
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        OverflowError,
        NotImplementedError,
        RemainingScaleBytesNotEmptyException,
    ) as exc:
        raise JobArgumentError(f"the bytes are not a valid {type_string}: {exc}") from exc
    return value


def encode_fields(fields: Sequence[FieldValue]) -> bytes:
    """The exact SCALE bytes of ``Vec<Field>`` as the chain stores them, after checking the pallet's limits.

    Raises:
        JobArgumentError: more than 256 fields, a field over 1024 encoded bytes, or an unencodable value.
    """
    check_field_limits(fields)
    return encode_scale("Vec<Field>", list(fields))


def decode_fields(data: bytes) -> list[FieldValue]:
    """Decode the SCALE bytes of a ``Vec<Field>`` into substrate-interface's value form."""
    value = decode_scale("Vec<Field>", data)
    assert isinstance(value, list)
    return value


def check_field_limits(fields: Sequence[FieldValue]) -> None:
    """Raise ``JobArgumentError`` unless there are at most 256 fields of at most 1024 encoded bytes each."""
    if len(fields) > MAX_FIELDS:
        raise JobArgumentError(f"{len(fields)} fields is more than the chain's limit of {MAX_FIELDS}")
    for position, field in enumerate(fields):
        size = len(encode_scale("Field", field))
        if size > MAX_FIELD_BYTES:
            raise JobArgumentError(
                f"field {position} is {size} bytes once encoded; the chain's limit is {MAX_FIELD_BYTES} bytes"
            )
