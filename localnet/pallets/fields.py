"""Type checking of ``Field`` values against ``FieldType`` descriptions, as the Services pallet does."""

from __future__ import annotations

from typing import Any

MAX_FIELDS = 256
MAX_FIELD_BYTES = 1024

_SIMPLE = {"Bool", "Uint8", "Int8", "Uint16", "Int16", "Uint32", "Int32", "Uint64", "Int64", "String", "AccountId"}


def _variant(value: Any) -> tuple[str, Any]:
    if isinstance(value, str):
        return value, None
    if isinstance(value, dict) and len(value) == 1:
        name, inner = next(iter(value.items()))
        return str(name), inner
    raise ValueError(f"not an enum value: {value!r}")


def field_type_of(field: Any) -> Any:
    """The ``FieldType`` value a ``Field`` value carries (as decoded by scalecodec)."""
    name, inner = _variant(field)
    if name in _SIMPLE:
        return name
    if name == "Optional":
        return {"Optional": inner[0]}
    if name == "Array":
        return {"Array": (len(inner[1]), inner[0])}
    if name == "List":
        return {"List": inner[0]}
    if name == "Struct":
        return {"Struct": [field_type_of(v) for _, v in inner[1]]}
    raise ValueError(f"unknown field {name}")


def _same_type(a: Any, b: Any) -> bool:
    an, ai = _variant(a)
    bn, bi = _variant(b)
    if an != bn:
        return False
    if an == "Array":
        return int(ai[0]) == int(bi[0]) and _same_type(ai[1], bi[1])
    if an in ("Optional", "List"):
        return _same_type(ai, bi)
    if an == "Struct":
        return len(ai) == len(bi) and all(_same_type(x, y) for x, y in zip(ai, bi, strict=True))
    return True


def matches(field: Any, expected: Any) -> bool:
    """Whether a ``Field`` value is an instance of the ``FieldType`` value ``expected``."""
    name, inner = _variant(field)
    en, ei = _variant(expected)
    if name in _SIMPLE:
        return name == en
    if name == "Optional":
        if en != "Optional" or not _same_type(inner[0], ei):
            return False
        return inner[1] is None or matches(inner[1], ei)
    if name in ("Array", "List"):
        if en == "Array":
            length, elem = int(ei[0]), ei[1]
            if name != "Array" or len(inner[1]) != length:
                return False
        elif en == "List" and name == "List":
            elem = ei
        else:
            return False
        return _same_type(inner[0], elem) and all(matches(item, elem) for item in inner[1])
    if name == "Struct":
        if en != "Struct" or len(inner[1]) != len(ei):
            return False
        return all(matches(v, t) for (_, v), t in zip(inner[1], ei, strict=True))
    return False


def type_check(fields: list[Any], expected: list[Any]) -> bool:
    """Count and per-position type match, as Tangle's ``type_checker`` does."""
    return len(fields) == len(expected) and all(matches(f, t) for f, t in zip(fields, expected, strict=True))
