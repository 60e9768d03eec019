"""SCALE encoding and decoding against the runtime's own metadata, via scalecodec."""

from __future__ import annotations

import functools
from typing import Any

from scalecodec.base import RuntimeConfigurationObject, ScaleBytes
from scalecodec.type_registry import load_type_registry_preset
from scalecodec.types import U8, Vec
from substrateinterface.utils.hasher import blake2_128_concat, two_x64_concat, xxh128

from localnet.metadata import metadata_bytes


class _LosslessByteVec(Vec):  # type: ignore[misc]  # scalecodec is untyped
    """A ``Vec<u8>`` of the portable registry, decoded as ``0x``-hex always.

    scalecodec decodes valid UTF-8 to text and encodes text starting with ``0x`` as hex, so the text
    "0x1F" would not survive a decode and re-encode; the node re-encodes what it decodes (storage,
    events), so it must never guess.
    """

    def process(self) -> Any:
        if self.runtime_config.get_decoder_class(self.sub_type) is not U8:
            return super().process()
        length = self.process_type("Compact<u32>").value
        self.value_object = self.get_next_bytes(length)
        return "0x" + bytes(self.value_object).hex()


def _lossless_byte_vectors(config: RuntimeConfigurationObject) -> None:
    # Only the portable registry's own types (``scale_info::N``): scalecodec collects every subclass of its
    # types by class name into every later configuration of the process, so a class named like a core type
    # (``Vec``) would change how substrate-interface clients in this process decode.
    types = config.type_registry["types"]
    for name, kind in list(types.items()):
        if name.startswith("scale_info::") and isinstance(kind, type) and issubclass(kind, Vec):
            types[name] = type(f"{kind.__name__}::lossless", (_LosslessByteVec, kind), {})


class Codec:
    """scalecodec runtime configuration with the localnet's portable registry loaded."""

    def __init__(self) -> None:
        config = RuntimeConfigurationObject(ss58_format=None)
        config.update_type_registry(load_type_registry_preset("core"))
        md = config.create_scale_object("MetadataVersioned", data=ScaleBytes(metadata_bytes()))
        md.decode()
        config.add_portable_registry(md)
        _lossless_byte_vectors(config)
        self.config = config
        self.metadata = md
        self._storage: dict[tuple[str, str], Any] = {}

    def encode(self, type_string: str, value: Any) -> bytes:
        obj = self.config.create_scale_object(type_string, metadata=self.metadata)
        return bytes(obj.encode(value).data)

    def decode(self, type_string: str, data: bytes) -> Any:
        obj = self.config.create_scale_object(type_string, data=ScaleBytes(bytearray(data)), metadata=self.metadata)
        return obj.decode(check_remaining=True)

    def decode_partial(self, type_string: str, data: bytes) -> tuple[Any, int]:
        """Decode a prefix of ``data``; returns the value and the number of bytes consumed."""
        sb = ScaleBytes(bytearray(data))
        obj = self.config.create_scale_object(type_string, data=sb, metadata=self.metadata)
        value = obj.decode(check_remaining=False)
        return value, sb.offset

    def storage_function(self, pallet: str, item: str) -> Any:
        key = (pallet, item)
        if key not in self._storage:
            self._storage[key] = self.metadata.get_metadata_pallet(pallet).get_storage_function(item)
        return self._storage[key]

    def storage_value_type(self, pallet: str, item: str) -> str:
        return str(self.storage_function(pallet, item).get_value_type_string())

    def storage_key(self, pallet: str, item: str, *params: Any) -> bytes:
        """Key = twox128(pallet) ++ twox128(item) ++ hasher(SCALE(param)) for each map key."""
        key = storage_prefix(pallet, item)
        if not params:
            return key
        func = self.storage_function(pallet, item)
        hashers = func.get_param_hashers()
        types = func.get_params_type_string()
        for param, hasher, type_string in zip(params, hashers, types, strict=True):
            encoded = param if isinstance(param, bytes) else self.encode(type_string, param)
            key += hash_key(hasher, encoded)
        return key


def storage_prefix(pallet: str, item: str) -> bytes:
    return bytes(xxh128(pallet.encode())) + bytes(xxh128(item.encode()))


def hash_key(hasher: str, data: bytes) -> bytes:
    if hasher == "Blake2_128Concat":
        return bytes(blake2_128_concat(data))
    if hasher == "Twox64Concat":
        return bytes(two_x64_concat(data))
    if hasher == "Identity":
        return data
    raise ValueError(f"unsupported hasher {hasher}")


@functools.cache
def codec() -> Codec:
    """The process-wide codec (building it parses the metadata once)."""
    return Codec()
