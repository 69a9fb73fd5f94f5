//! BTF kinds and the fixed layout of their records.
//!
//! Every type record is a 12-byte `btf_type` (name offset, info word, size-or-type) followed by
//! kind-specific data: a fixed part (`info_size`) and `vlen` elements of `elem_size` bytes. The
//! info word packs `vlen` (bits 0-23), the kind (bits 24-30) and `kind_flag` (bit 31); kernels
//! before the 2026 layout extension used only 16 vlen bits and 5 kind bits and required the rest
//! to be zero, so reading the wide fields is compatible with every kernel's BTF.

use std::fmt;

/// Size of the common `struct btf_type` prefix of every record.
pub const TYPE_HEADER_SIZE: usize = 12;

/// The kinds the kernel defines (`BTF_KIND_*` in `include/uapi/linux/btf.h`).
///
/// `Unknown` is a kind newer than this crate whose record size a layout section described; its
/// payload is kept opaque (and round-trips through the writer unchanged).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Integer: size, signedness, bit width.
    Int,
    /// Pointer to a type.
    Ptr,
    /// Array: element type, index type, element count.
    Array,
    /// Struct: size and members.
    Struct,
    /// Union: size and members.
    Union,
    /// Enum with 32-bit values.
    Enum,
    /// Forward declaration of a struct or union.
    Fwd,
    /// Typedef.
    Typedef,
    /// `volatile` qualifier.
    Volatile,
    /// `const` qualifier.
    Const,
    /// `restrict` qualifier.
    Restrict,
    /// Function (name, linkage, prototype).
    Func,
    /// Function signature.
    FuncProto,
    /// Variable.
    Var,
    /// Data section listing variables (`.data`, `.ksyms`, per-cpu).
    Datasec,
    /// Floating-point type.
    Float,
    /// Declaration tag (`__attribute__((btf_decl_tag))`).
    DeclTag,
    /// Type tag (`__rcu`, `__user`, `__kptr`).
    TypeTag,
    /// Enum with 64-bit values.
    Enum64,
    /// A kind newer than this crate (raw number).
    Unknown(u8),
}

impl Kind {
    /// All kinds in numeric order.
    pub const ALL: [Kind; 19] = [
        Kind::Int,
        Kind::Ptr,
        Kind::Array,
        Kind::Struct,
        Kind::Union,
        Kind::Enum,
        Kind::Fwd,
        Kind::Typedef,
        Kind::Volatile,
        Kind::Const,
        Kind::Restrict,
        Kind::Func,
        Kind::FuncProto,
        Kind::Var,
        Kind::Datasec,
        Kind::Float,
        Kind::DeclTag,
        Kind::TypeTag,
        Kind::Enum64,
    ];

    /// The kind for a raw kind number; `None` for 0 (UNKN, never a valid type), `Unknown` for
    /// numbers past `ENUM64`.
    #[inline]
    pub fn from_raw(raw: u8) -> Option<Kind> {
        match raw {
            0 => None,
            1..=19 => Kind::ALL.get(raw as usize - 1).copied(),
            n => Some(Kind::Unknown(n)),
        }
    }

    /// The raw kind number.
    pub fn raw(self) -> u8 {
        match self {
            Kind::Unknown(n) => n,
            known => Kind::ALL.iter().position(|k| *k == known).map_or(0, |i| i as u8 + 1),
        }
    }

    /// Whether this crate knows the kind's record layout itself.
    pub fn is_known(self) -> bool {
        !matches!(self, Kind::Unknown(_))
    }

    /// The name bpftool prints (`STRUCT`, `FUNC_PROTO`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Int => "INT",
            Kind::Ptr => "PTR",
            Kind::Array => "ARRAY",
            Kind::Struct => "STRUCT",
            Kind::Union => "UNION",
            Kind::Enum => "ENUM",
            Kind::Fwd => "FWD",
            Kind::Typedef => "TYPEDEF",
            Kind::Volatile => "VOLATILE",
            Kind::Const => "CONST",
            Kind::Restrict => "RESTRICT",
            Kind::Func => "FUNC",
            Kind::FuncProto => "FUNC_PROTO",
            Kind::Var => "VAR",
            Kind::Datasec => "DATASEC",
            Kind::Float => "FLOAT",
            Kind::DeclTag => "DECL_TAG",
            Kind::TypeTag => "TYPE_TAG",
            Kind::Enum64 => "ENUM64",
            Kind::Unknown(_) => "UNKNOWN",
        }
    }

    /// Parses a kind name as bpftool prints it, case-insensitively.
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|k| k.name().eq_ignore_ascii_case(name))
    }

    /// Bytes of fixed data after the 12-byte header (0 for `Unknown`: ask the layout section).
    pub const fn info_size(self) -> usize {
        match self {
            Kind::Int | Kind::Var | Kind::DeclTag => 4,
            Kind::Array => 12,
            _ => 0,
        }
    }

    /// Bytes per `vlen` element (0 for kinds whose vlen is not a count).
    pub const fn elem_size(self) -> usize {
        match self {
            Kind::Struct | Kind::Union | Kind::Datasec | Kind::Enum64 => 12,
            Kind::Enum | Kind::FuncProto => 8,
            _ => 0,
        }
    }

    /// Whether the third header word is a size (else it is a type id, or unused for FWD).
    pub fn has_size(self) -> bool {
        matches!(self, Kind::Int | Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64 | Kind::Datasec | Kind::Float)
    }

    /// Whether the third header word is a referenced type id.
    pub const fn has_type_ref(self) -> bool {
        matches!(
            self,
            Kind::Ptr
                | Kind::Typedef
                | Kind::Volatile
                | Kind::Const
                | Kind::Restrict
                | Kind::Func
                | Kind::FuncProto
                | Kind::Var
                | Kind::DeclTag
                | Kind::TypeTag
        )
    }

    /// Modifiers that `resolve` looks through besides typedef.
    pub fn is_modifier(self) -> bool {
        matches!(self, Kind::Volatile | Kind::Const | Kind::Restrict | Kind::TypeTag)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Unknown(n) => write!(f, "UNKNOWN_{n}"),
            k => f.write_str(k.name()),
        }
    }
}

/// The decoded info word of a type record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Info {
    /// Raw kind number (bits 24-30).
    pub kind: u8,
    /// Element count or, for FUNC, the linkage (bits 0-23).
    pub vlen: u32,
    /// Kind-specific flag (bit 31): bitfield members, FWD of a union, signed enum, attribute tag.
    pub kind_flag: bool,
}

impl Info {
    /// Splits an info word into its fields.
    #[inline(always)]
    pub fn decode(word: u32) -> Info {
        Info { kind: ((word >> 24) & 0x7f) as u8, vlen: word & 0x00ff_ffff, kind_flag: word >> 31 != 0 }
    }

    /// Packs the fields back into an info word; `None` if a field does not fit.
    pub fn encode(self) -> Option<u32> {
        if self.vlen > 0x00ff_ffff || self.kind > 0x7f {
            return None;
        }
        Some(self.vlen | (self.kind as u32) << 24 | (self.kind_flag as u32) << 31)
    }
}
