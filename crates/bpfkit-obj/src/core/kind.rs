//! The CO-RE relocation kinds (`enum bpf_core_relo_kind` in `linux/bpf.h`): what value an
//! instruction needs from the target kernel's types.

use std::fmt;

/// What a CO-RE relocation computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RelocKind {
    /// `bpf_core_field_offset`: byte offset of a field.
    FieldByteOffset,
    /// `bpf_core_field_size`: byte size of a field.
    FieldByteSize,
    /// `bpf_core_field_exists`: 1 if the field exists.
    FieldExists,
    /// Whether the field is signed (`BPF_CORE_READ_BITFIELD`).
    FieldSigned,
    /// Left shift that puts a bitfield's top bit at bit 63 of a u64 load.
    FieldLshiftU64,
    /// Right shift that then brings the bitfield down to bit 0.
    FieldRshiftU64,
    /// `bpf_core_type_id_local`: the type's id in the object's BTF.
    TypeIdLocal,
    /// `bpf_core_type_id_kernel`: the matching type's id in kernel BTF.
    TypeIdTarget,
    /// `bpf_core_type_exists`.
    TypeExists,
    /// `bpf_core_type_size`.
    TypeSize,
    /// `bpf_core_enum_value_exists`.
    EnumValueExists,
    /// `bpf_core_enum_value`.
    EnumValue,
    /// `bpf_core_type_matches`: a stricter structural match than `TypeExists`.
    TypeMatches,
}

impl RelocKind {
    /// From the `.BTF.ext` record's number.
    pub fn from_raw(raw: u32) -> Option<RelocKind> {
        use RelocKind::*;
        Some(match raw {
            0 => FieldByteOffset,
            1 => FieldByteSize,
            2 => FieldExists,
            3 => FieldSigned,
            4 => FieldLshiftU64,
            5 => FieldRshiftU64,
            6 => TypeIdLocal,
            7 => TypeIdTarget,
            8 => TypeExists,
            9 => TypeSize,
            10 => EnumValueExists,
            11 => EnumValue,
            12 => TypeMatches,
            _ => return None,
        })
    }

    /// Relocations about a field reached through an access path.
    pub fn is_field(self) -> bool {
        use RelocKind::*;
        matches!(self, FieldByteOffset | FieldByteSize | FieldExists | FieldSigned | FieldLshiftU64 | FieldRshiftU64)
    }

    /// Relocations about a whole type.
    pub fn is_type(self) -> bool {
        use RelocKind::*;
        matches!(self, TypeIdLocal | TypeIdTarget | TypeExists | TypeSize | TypeMatches)
    }

    /// Relocations about an enumerator.
    pub fn is_enum_value(self) -> bool {
        matches!(self, RelocKind::EnumValueExists | RelocKind::EnumValue)
    }

    /// The libbpf/kernel name of the kind.
    pub fn name(self) -> &'static str {
        use RelocKind::*;
        match self {
            FieldByteOffset => "byte_off",
            FieldByteSize => "byte_sz",
            FieldExists => "field_exists",
            FieldSigned => "signed",
            FieldLshiftU64 => "lshift_u64",
            FieldRshiftU64 => "rshift_u64",
            TypeIdLocal => "local_type_id",
            TypeIdTarget => "target_type_id",
            TypeExists => "type_exists",
            TypeSize => "type_size",
            EnumValueExists => "enumval_exists",
            EnumValue => "enumval_value",
            TypeMatches => "type_matches",
        }
    }
}

impl fmt::Display for RelocKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
