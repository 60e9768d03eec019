"""The recursive ``FieldType``/``Field`` enums of tangle_primitives (variant indices per the contract)."""

from __future__ import annotations

from localnet.typebuilder import Field, TypeBuilder

P = "tangle_primitives::services"


def build_field_types(b: TypeBuilder, account: int, bytes_t: int) -> tuple[int, int, int, int]:
    """Returns the ids of ``FieldType``, ``Vec<FieldType>``, ``Field`` and ``Vec<Field>``."""
    u8, u16, u32, u64 = b.prim("u8"), b.prim("u16"), b.prim("u32"), b.prim("u64")
    i8, i16, i32, i64 = b.prim("i8"), b.prim("i16"), b.prim("i32"), b.prim("i64")
    bool_t = b.prim("bool")
    # FieldType and Field are recursive, so their ids are reserved first.
    ft = b.reserve("FieldType")
    ft_box = ft
    vec_ft = b.seq(ft)
    b.fill(
        ft,
        f"{P}::field::FieldType".split("::"),
        {
            "variant": {
                "variants": [
                    b.variant_def(n, i, f)
                    for n, i, f in [
                        ("Void", 0, []),
                        ("Bool", 1, []),
                        ("Uint8", 2, []),
                        ("Int8", 3, []),
                        ("Uint16", 4, []),
                        ("Int16", 5, []),
                        ("Uint32", 6, []),
                        ("Int32", 7, []),
                        ("Uint64", 8, []),
                        ("Int64", 9, []),
                        ("String", 10, []),
                        ("Optional", 12, [(None, ft_box, "Box<FieldType>")]),
                        ("Array", 13, [(None, u64, "u64"), (None, ft_box, "Box<FieldType>")]),
                        ("List", 14, [(None, ft_box, "Box<FieldType>")]),
                        ("Struct", 15, [(None, vec_ft, "Box<Vec<FieldType>>")]),
                        ("AccountId", 100, []),
                    ]
                ]
            }
        },
    )
    field = b.reserve("Field")
    vec_field = b.seq(field)
    opt_field = b.option(field)
    named = b.tup(bytes_t, field)
    field_variants: list[tuple[str, int, list[Field]]] = [
        ("Optional", 0, [(None, ft, "FieldType"), (None, opt_field, "Box<Option<Field>>")]),
        ("Bool", 1, [(None, bool_t, "bool")]),
        ("Uint8", 2, [(None, u8, "u8")]),
        ("Int8", 3, [(None, i8, "i8")]),
        ("Uint16", 4, [(None, u16, "u16")]),
        ("Int16", 5, [(None, i16, "i16")]),
        ("Uint32", 6, [(None, u32, "u32")]),
        ("Int32", 7, [(None, i32, "i32")]),
        ("Uint64", 8, [(None, u64, "u64")]),
        ("Int64", 9, [(None, i64, "i64")]),
        ("String", 10, [(None, bytes_t, "BoundedString")]),
        ("Array", 12, [(None, ft, "FieldType"), (None, vec_field, "BoundedVec<Field>")]),
        ("List", 13, [(None, ft, "FieldType"), (None, vec_field, "BoundedVec<Field>")]),
        ("Struct", 14, [(None, bytes_t, "BoundedString"), (None, b.seq(named), "Box<BoundedVec<(String, Field)>>")]),
        ("AccountId", 100, [(None, account, "AccountId")]),
    ]
    b.fill(
        field,
        f"{P}::field::Field".split("::"),
        {"variant": {"variants": [b.variant_def(n, i, f) for n, i, f in field_variants]}},
    )

    return ft, vec_ft, field, vec_field
