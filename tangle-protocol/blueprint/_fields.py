"""Build ``Field`` values from Python values and read them back, checking each variant's shape.

Text goes out as its UTF-8 ``bytes``: scalecodec reads any *string* starting with ``0x`` as hex, so sending
text as a ``str`` would corrupt code such as ``0x1F``. Coming back, substrate-interface gives a ``Bytes``
payload as text when it is valid UTF-8 and as ``0x``-hex otherwise; ``read_text`` accepts both and ``bytes``.
"""

from __future__ import annotations

from typing import Any

from blueprint._errors import JobArgumentError
from blueprint._scale import FieldTypeValue, FieldValue

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def text_field(text: str) -> FieldValue:
    """A ``Field::String`` carrying ``text``."""
    return {"String": text.encode()}


def optional_text_field(text: str | None) -> FieldValue:
    """A ``Field::Optional(String, ...)`` carrying ``text`` or nothing."""
    return {"Optional": ("String", None if text is None else text_field(text))}


def bytes_field(data: bytes) -> FieldValue:
    """A ``Field::List(Uint8, ...)`` carrying ``data`` one byte per element."""
    return {"List": ("Uint8", [{"Uint8": byte} for byte in data])}


def int32_field(number: int) -> FieldValue:
    """A ``Field::Int32``."""
    if not INT32_MIN <= number <= INT32_MAX:
        raise JobArgumentError(f"{number} does not fit an Int32")
    return {"Int32": number}


def variant(field: FieldValue, what: str) -> tuple[str, Any]:
    """Split a one-key dict ``{"Name": payload}`` (or a unit variant ``"Name"``) into name and payload."""
    if isinstance(field, str):
        return field, None
    if isinstance(field, dict) and len(field) == 1:
        ((name, payload),) = field.items()
        if isinstance(name, str):
            return name, payload
    raise JobArgumentError(f"{what} is not a Field value: {field!r:.80}")


def expect(field: FieldValue, name: str, what: str) -> Any:
    """The payload of ``field`` if it is the variant ``name``, else ``JobArgumentError``."""
    actual, payload = variant(field, what)
    if actual != name:
        raise JobArgumentError(f"{what} must be a {name} field, not {actual}")
    return payload


def read_text(field: FieldValue, what: str) -> str:
    """The text of a ``Field::String``; raises ``JobArgumentError`` if it is not valid UTF-8."""
    return _utf8(expect(field, "String", what), what)


def read_optional_text(field: FieldValue, what: str) -> str | None:
    """The text of a ``Field::Optional(String, ...)``, None when absent."""
    payload = expect(field, "Optional", what)
    if not isinstance(payload, list | tuple) or len(payload) != 2:
        raise JobArgumentError(f"{what} is a malformed Optional field")
    field_type, inner = payload
    if variant(field_type, what)[0] != "String":
        raise JobArgumentError(f"{what} must be an Optional(String) field")
    return None if inner is None else read_text(inner, what)


def read_bytes(field: FieldValue, what: str) -> bytes:
    """The bytes of a ``Field::List(Uint8, ...)``."""
    payload = expect(field, "List", what)
    if not isinstance(payload, list | tuple) or len(payload) != 2:
        raise JobArgumentError(f"{what} is a malformed List field")
    field_type, items = payload
    if variant(field_type, what)[0] != "Uint8" or not isinstance(items, list | tuple):
        raise JobArgumentError(f"{what} must be a List(Uint8) field")
    values = [expect(item, "Uint8", what) for item in items]
    if not all(isinstance(value, int) and 0 <= value <= 255 for value in values):
        raise JobArgumentError(f"{what} holds a value that is not a byte")
    return bytes(values)


def read_int32(field: FieldValue, what: str) -> int:
    """The number of a ``Field::Int32``."""
    number = expect(field, "Int32", what)
    if not isinstance(number, int) or isinstance(number, bool) or not INT32_MIN <= number <= INT32_MAX:
        raise JobArgumentError(f"{what} is not an Int32")
    return number


def field_type_name(field_type: FieldTypeValue) -> str:
    """A readable name of a ``FieldType`` value: ``Optional(String)``, ``List(Uint8)``."""
    name, payload = variant(field_type, "field type")
    return name if payload is None else f"{name}({field_type_name(payload)})"


def _utf8(payload: Any, what: str) -> str:
    if isinstance(payload, bytes | bytearray):
        raw = bytes(payload)
    elif isinstance(payload, str):
        if not _looks_hex(payload):
            return payload
        raw = bytes.fromhex(payload[2:])
        try:
            raw.decode()
        except UnicodeDecodeError:
            raise JobArgumentError(f"{what} is not valid UTF-8 text") from None
        # Valid UTF-8 would have come back as text, so this is text that merely looks like hex.
        return payload
    else:
        raise JobArgumentError(f"{what} must be text")
    try:
        return raw.decode()
    except UnicodeDecodeError:
        raise JobArgumentError(f"{what} is not valid UTF-8 text") from None


def _looks_hex(text: str) -> bool:
    if not text.startswith("0x") or len(text) % 2:
        return False
    try:
        bytes.fromhex(text[2:])
    except ValueError:
        return False
    return True
