//! [`Type`]: a zero-copy view of one type record, and typed views of its kind-specific data.

use crate::TypeId;
use crate::btf::Btf;
use crate::endian::Endian;
use crate::error::Result;
use crate::kind::{Info, Kind, TYPE_HEADER_SIZE};

/// A view of one type record inside a [`Btf`]. Cheap to copy; borrows the BTF bytes.
#[derive(Clone, Copy)]
pub struct Type<'a> {
    btf: &'a Btf,
    id: TypeId,
    record: &'a [u8],
    info: Info,
}

impl<'a> Type<'a> {
    pub(crate) fn new(btf: &'a Btf, id: TypeId, record: &'a [u8]) -> Type<'a> {
        let info = Info::decode(btf.endian().read_u32(record, 4));
        Type { btf, id, record, info }
    }

    #[inline]
    fn word(&self, off: usize) -> u32 {
        self.btf.endian().read_u32(self.record, off)
    }

    /// This type's id.
    pub fn id(&self) -> TypeId {
        self.id
    }

    /// The BTF blob that defines this type (for a base type seen through a split, the base).
    pub fn btf(&self) -> &'a Btf {
        self.btf
    }

    /// The kind. Validation guarantees it is not 0.
    pub fn kind(&self) -> Kind {
        Kind::from_raw(self.info.kind).unwrap_or(Kind::Unknown(0))
    }

    /// The decoded info word (raw vlen and kind_flag).
    pub fn info(&self) -> Info {
        self.info
    }

    /// Offset of the name in the string section (0 = anonymous).
    pub fn name_offset(&self) -> u32 {
        self.word(0)
    }

    /// The name, `""` for anonymous types.
    pub fn name(&self) -> Result<&'a str> {
        self.btf.str_at(self.name_offset())
    }

    /// The name's bytes, `b""` for anonymous types.
    pub fn name_bytes(&self) -> Result<&'a [u8]> {
        self.btf.str_bytes_at(self.name_offset())
    }

    /// The kind flag (bit 31 of info).
    pub fn kind_flag(&self) -> bool {
        self.info.kind_flag
    }

    /// The vlen field: element count, or the linkage for FUNC.
    pub fn vlen(&self) -> u32 {
        self.info.vlen
    }

    /// The third header word, a size or a type id depending on the kind.
    pub fn size_or_type(&self) -> u32 {
        self.word(8)
    }

    /// The byte size for kinds that carry one (INT, STRUCT, UNION, ENUM, ENUM64, DATASEC, FLOAT).
    pub fn size(&self) -> Option<u32> {
        self.kind().has_size().then(|| self.word(8))
    }

    /// The referenced type for kinds that carry one (PTR, TYPEDEF, modifiers, FUNC,
    /// FUNC_PROTO's return type, VAR, DECL_TAG, TYPE_TAG).
    pub fn ref_type(&self) -> Option<TypeId> {
        self.kind().has_type_ref().then(|| self.word(8))
    }

    /// The whole record, header included, as stored.
    pub fn record(&self) -> &'a [u8] {
        self.record
    }

    fn elems<T: VlenElement>(&self) -> Elements<'a, T> {
        let start = TYPE_HEADER_SIZE + self.kind().info_size();
        Elements {
            bytes: self.record.get(start..).unwrap_or(&[]),
            endian: self.btf.endian(),
            kind_flag: self.info.kind_flag,
            index: 0,
            len: self.info.vlen as usize,
            _t: std::marker::PhantomData,
        }
    }

    /// The kind-specific data, typed.
    pub fn details(&self) -> TypeDetails<'a> {
        match self.kind() {
            Kind::Int => TypeDetails::Int(IntInfo::from_word(self.word(12))),
            Kind::Ptr => TypeDetails::Ptr(self.word(8)),
            Kind::Array => TypeDetails::Array(ArrayInfo {
                elem_type: self.word(12),
                index_type: self.word(16),
                nelems: self.word(20),
            }),
            Kind::Struct => TypeDetails::Struct(self.elems()),
            Kind::Union => TypeDetails::Union(self.elems()),
            Kind::Enum => TypeDetails::Enum(self.elems()),
            Kind::Enum64 => TypeDetails::Enum64(self.elems()),
            Kind::Fwd => TypeDetails::Fwd { is_union: self.info.kind_flag },
            Kind::Typedef => TypeDetails::Typedef(self.word(8)),
            Kind::Volatile => TypeDetails::Volatile(self.word(8)),
            Kind::Const => TypeDetails::Const(self.word(8)),
            Kind::Restrict => TypeDetails::Restrict(self.word(8)),
            Kind::TypeTag => TypeDetails::TypeTag(self.word(8)),
            Kind::Func => TypeDetails::Func { proto: self.word(8), linkage: self.info.vlen },
            Kind::FuncProto => TypeDetails::FuncProto { ret: self.word(8), params: self.elems() },
            Kind::Var => TypeDetails::Var { ty: self.word(8), linkage: self.word(12) },
            Kind::Datasec => TypeDetails::Datasec(self.elems()),
            Kind::Float => TypeDetails::Float,
            Kind::DeclTag => TypeDetails::DeclTag { ty: self.word(8), component_idx: self.word(12) as i32 },
            Kind::Unknown(kind) => {
                TypeDetails::Unknown { kind, payload: self.record.get(TYPE_HEADER_SIZE..).unwrap_or(&[]) }
            }
        }
    }

    /// Members of a STRUCT or UNION (empty for other kinds).
    pub fn members(&self) -> Elements<'a, Member> {
        match self.kind() {
            Kind::Struct | Kind::Union => self.elems(),
            _ => Elements::empty(self.btf.endian()),
        }
    }

    /// Whether this is a STRUCT or UNION.
    pub fn is_composite(&self) -> bool {
        matches!(self.kind(), Kind::Struct | Kind::Union)
    }
}

impl std::fmt::Debug for Type<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}] {} '{}'", self.id, self.kind(), self.name().unwrap_or("<bad name>"))
    }
}

/// The kind-specific data of a type.
#[derive(Debug, Clone)]
pub enum TypeDetails<'a> {
    /// INT: size and encoding word.
    Int(IntInfo),
    /// PTR to a type.
    Ptr(TypeId),
    /// ARRAY.
    Array(ArrayInfo),
    /// STRUCT.
    Struct(Elements<'a, Member>),
    /// UNION.
    Union(Elements<'a, Member>),
    /// ENUM (32-bit values).
    Enum(Elements<'a, Enumerator>),
    /// ENUM64.
    Enum64(Elements<'a, Enumerator64>),
    /// A forward declaration of a struct, or of a union when `is_union`.
    Fwd {
        /// Whether it declares a union (else a struct).
        is_union: bool,
    },
    /// TYPEDEF of a type.
    Typedef(TypeId),
    /// VOLATILE of a type.
    Volatile(TypeId),
    /// CONST of a type.
    Const(TypeId),
    /// RESTRICT of a type.
    Restrict(TypeId),
    /// TYPE_TAG on a type.
    TypeTag(TypeId),
    /// A function: its FUNC_PROTO and its linkage ([`linkage`] constants).
    Func {
        /// The FUNC_PROTO type id.
        proto: TypeId,
        /// Linkage (see `linkage`).
        linkage: u32,
    },
    /// A function signature: return type (0 = void) and parameters.
    FuncProto {
        /// Return type (0 = void).
        ret: TypeId,
        /// Parameters in order.
        params: Elements<'a, Param>,
    },
    /// A variable: its type and linkage ([`linkage`] constants).
    Var {
        /// The referenced type id.
        ty: TypeId,
        /// Linkage (see `linkage`).
        linkage: u32,
    },
    /// DATASEC.
    Datasec(Elements<'a, VarSecinfo>),
    /// FLOAT.
    Float,
    /// A declaration tag on `ty` (or on member/parameter `component_idx`, -1 = the whole type).
    DeclTag {
        /// The referenced type id.
        ty: TypeId,
        /// Member/parameter index, or -1 for the whole declaration.
        component_idx: i32,
    },
    /// A kind newer than this crate, described by the layout section.
    Unknown {
        /// The raw kind number.
        kind: u8,
        /// The bytes after the header, verbatim.
        payload: &'a [u8],
    },
}

/// Linkage values of FUNC (vlen) and VAR records.
pub mod linkage {
    /// `static`.
    pub const STATIC: u32 = 0;
    /// Global (FUNC) or global allocated (VAR).
    pub const GLOBAL: u32 = 1;
    /// `extern`: defined elsewhere (ksyms, kfuncs).
    pub const EXTERN: u32 = 2;
}

/// `BTF_INT_*` encoding bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IntEncoding(pub u8);

impl IntEncoding {
    /// Unsigned, not char, not bool.
    pub const NONE: IntEncoding = IntEncoding(0);
    /// `BTF_INT_SIGNED`.
    pub const SIGNED: IntEncoding = IntEncoding(1);
    /// `BTF_INT_CHAR`.
    pub const CHAR: IntEncoding = IntEncoding(2);
    /// `BTF_INT_BOOL`.
    pub const BOOL: IntEncoding = IntEncoding(4);

    /// Whether signed.
    pub fn is_signed(self) -> bool {
        self.0 & 1 != 0
    }
    /// Whether char.
    pub fn is_char(self) -> bool {
        self.0 & 2 != 0
    }
    /// Whether bool.
    pub fn is_bool(self) -> bool {
        self.0 & 4 != 0
    }
}

/// The word after an INT header: encoding, bit offset and bit count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntInfo {
    /// The whole word, as stored (bits 28-31 are unused).
    pub raw: u32,
}

impl IntInfo {
    /// Wraps the raw word.
    pub fn from_word(raw: u32) -> IntInfo {
        IntInfo { raw }
    }
    /// Builds the word from its fields.
    pub fn new(encoding: IntEncoding, offset: u8, bits: u8) -> IntInfo {
        IntInfo { raw: ((encoding.0 as u32 & 0xf) << 24) | (offset as u32) << 16 | bits as u32 }
    }
    /// `BTF_INT_ENCODING`.
    pub fn encoding(self) -> IntEncoding {
        IntEncoding(((self.raw >> 24) & 0xf) as u8)
    }
    /// `BTF_INT_OFFSET` (always 0 in practice).
    pub fn offset(self) -> u8 {
        (self.raw >> 16) as u8
    }
    /// `BTF_INT_BITS`.
    pub fn bits(self) -> u8 {
        self.raw as u8
    }
}

/// The `struct btf_array` after an ARRAY header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArrayInfo {
    /// Element type id.
    pub elem_type: TypeId,
    /// Index type id (an INT).
    pub index_type: TypeId,
    /// Number of elements.
    pub nelems: u32,
}

/// One fixed-size element of a vlen-sized list (members, enumerators, parameters, ...).
pub trait VlenElement: Sized {
    /// Bytes per element.
    const SIZE: usize;
    /// Decodes one element; `kind_flag` is the owning type's.
    fn decode(bytes: &[u8], endian: Endian, kind_flag: bool) -> Self;
}

/// A lazily decoded list of vlen elements; an iterator that can also be indexed.
#[derive(Clone)]
pub struct Elements<'a, T> {
    bytes: &'a [u8],
    endian: Endian,
    kind_flag: bool,
    index: usize,
    len: usize,
    _t: std::marker::PhantomData<T>,
}

impl<'a, T: VlenElement> Elements<'a, T> {
    fn empty(endian: Endian) -> Self {
        Elements { bytes: &[], endian, kind_flag: false, index: 0, len: 0, _t: std::marker::PhantomData }
    }

    /// The `i`-th element from the start of the list, regardless of iteration progress.
    pub fn get(&self, i: usize) -> Option<T> {
        if i >= self.len {
            return None;
        }
        let bytes = self.bytes.get(i * T::SIZE..(i + 1) * T::SIZE)?;
        Some(T::decode(bytes, self.endian, self.kind_flag))
    }

    /// Total number of elements (not affected by iteration, unlike `len()`).
    pub fn total_len(&self) -> usize {
        self.len
    }
}

impl<T: VlenElement> Iterator for Elements<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        let item = self.get(self.index)?;
        self.index += 1;
        Some(item)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.len - self.index.min(self.len);
        (left, Some(left))
    }
}

impl<T: VlenElement> ExactSizeIterator for Elements<'_, T> {}

impl<T: VlenElement + std::fmt::Debug> std::fmt::Debug for Elements<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries((0..self.len).filter_map(|i| self.get(i))).finish()
    }
}

/// A struct or union member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    /// String offset of the name.
    pub name_off: u32,
    /// The referenced type id.
    pub ty: TypeId,
    /// The offset word as stored.
    pub raw_offset: u32,
    /// Whether the owning type's kind_flag is set (offset word packs bitfield size).
    pub kind_flag: bool,
}

impl Member {
    /// Bit offset from the start of the struct.
    pub fn bit_offset(&self) -> u32 {
        if self.kind_flag { self.raw_offset & 0x00ff_ffff } else { self.raw_offset }
    }
    /// Bitfield width in bits, 0 for a plain member (or when the struct does not encode widths
    /// in members; then a bitfield is an INT with its own `bits`).
    pub fn bitfield_size(&self) -> u32 {
        if self.kind_flag { self.raw_offset >> 24 } else { 0 }
    }
}

impl VlenElement for Member {
    const SIZE: usize = 12;
    fn decode(b: &[u8], e: Endian, kind_flag: bool) -> Self {
        Member { name_off: e.read_u32(b, 0), ty: e.read_u32(b, 4), raw_offset: e.read_u32(b, 8), kind_flag }
    }
}

/// An ENUM enumerator (32-bit value; signed when the enum's kind_flag is set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enumerator {
    /// String offset of the name.
    pub name_off: u32,
    /// The value bits as stored.
    pub raw_value: u32,
    /// Whether the enum is signed (its kind flag).
    pub signed: bool,
}

impl Enumerator {
    /// The value, sign-extended for signed enums.
    pub fn value(&self) -> i64 {
        if self.signed { self.raw_value as i32 as i64 } else { self.raw_value as i64 }
    }
}

impl VlenElement for Enumerator {
    const SIZE: usize = 8;
    fn decode(b: &[u8], e: Endian, kind_flag: bool) -> Self {
        Enumerator { name_off: e.read_u32(b, 0), raw_value: e.read_u32(b, 4), signed: kind_flag }
    }
}

/// An ENUM64 enumerator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enumerator64 {
    /// String offset of the name.
    pub name_off: u32,
    /// Low 32 bits of the value.
    pub lo32: u32,
    /// High 32 bits of the value.
    pub hi32: u32,
    /// Whether the enum is signed (its kind flag).
    pub signed: bool,
}

impl Enumerator64 {
    /// The 64 value bits.
    pub fn raw_value(&self) -> u64 {
        (self.hi32 as u64) << 32 | self.lo32 as u64
    }
    /// The 64 value bits as `i64`: right for signed enums; for unsigned ones (`signed` false)
    /// use [`raw_value`](Self::raw_value), since values above `i64::MAX` would turn negative.
    pub fn value(&self) -> i64 {
        self.raw_value() as i64
    }
}

impl VlenElement for Enumerator64 {
    const SIZE: usize = 12;
    fn decode(b: &[u8], e: Endian, kind_flag: bool) -> Self {
        Enumerator64 { name_off: e.read_u32(b, 0), lo32: e.read_u32(b, 4), hi32: e.read_u32(b, 8), signed: kind_flag }
    }
}

/// A FUNC_PROTO parameter (`ty == 0` with no name as last parameter means `...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    /// String offset of the name.
    pub name_off: u32,
    /// The referenced type id.
    pub ty: TypeId,
}

impl VlenElement for Param {
    const SIZE: usize = 8;
    fn decode(b: &[u8], e: Endian, _: bool) -> Self {
        Param { name_off: e.read_u32(b, 0), ty: e.read_u32(b, 4) }
    }
}

/// A DATASEC entry: a VAR (or FUNC, in objects) and where it sits in the section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VarSecinfo {
    /// The referenced type id.
    pub ty: TypeId,
    /// Byte or string offset concerned.
    pub offset: u32,
    /// Size in bytes.
    pub size: u32,
}

impl VlenElement for VarSecinfo {
    const SIZE: usize = 12;
    fn decode(b: &[u8], e: Endian, _: bool) -> Self {
        VarSecinfo { ty: e.read_u32(b, 0), offset: e.read_u32(b, 4), size: e.read_u32(b, 8) }
    }
}
