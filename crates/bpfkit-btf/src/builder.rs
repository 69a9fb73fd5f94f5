//! [`BtfBuilder`]: builds or rewrites BTF and encodes it to bytes.
//!
//! Loaders must rewrite object BTF before handing it to the kernel (extern DATASECs, kinds an
//! old kernel lacks), and tests need BTF of every shape. The builder holds decoded, owned
//! records; [`BtfBuilder::from_btf`] copies a parsed blob (strings verbatim) so that encoding it
//! again reproduces the input byte for byte.

use std::collections::HashMap;

use crate::TypeId;
use crate::btf::Btf;
use crate::endian::Endian;
use crate::error::{BtfError, Result};
use crate::header::{BASE_HEADER_LEN, LAYOUT_HEADER_LEN, MAGIC};
use crate::kind::{Info, Kind};
use crate::types::{
    ArrayInfo, Enumerator, Enumerator64, IntEncoding, IntInfo, Member, Param, Type, TypeDetails, VarSecinfo,
};

/// An owned type record: the unit the builder stores and encodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeRecord {
    /// String offset of the name (0 = anonymous).
    pub name_off: u32,
    /// The info word's kind flag (its meaning depends on the kind).
    pub kind_flag: bool,
    /// Kind-specific data.
    pub data: RecordData,
}

/// Kind-specific data of an owned record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordData {
    /// INT: size and encoding word.
    Int {
        /// Size in bytes.
        size: u32,
        /// The INT encoding word.
        info: IntInfo,
    },
    /// PTR to a type.
    Ptr(TypeId),
    /// ARRAY.
    Array(ArrayInfo),
    /// STRUCT.
    Struct {
        /// Size in bytes.
        size: u32,
        /// Members in declaration order.
        members: Vec<Member>,
    },
    /// UNION.
    Union {
        /// Size in bytes.
        size: u32,
        /// Members in declaration order.
        members: Vec<Member>,
    },
    /// ENUM (32-bit values).
    Enum {
        /// Size in bytes.
        size: u32,
        /// Enumerators in declaration order.
        values: Vec<Enumerator>,
    },
    /// ENUM64.
    Enum64 {
        /// Size in bytes.
        size: u32,
        /// Enumerators in declaration order.
        values: Vec<Enumerator64>,
    },
    /// The third word of a FWD is unused; kept so that rewriting preserves it.
    Fwd {
        /// The unused third word, as stored.
        unused: u32,
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
    /// FUNC.
    Func {
        /// The FUNC_PROTO type id.
        proto: TypeId,
        /// Linkage (see `linkage`).
        linkage: u32,
    },
    /// FUNC_PROTO.
    FuncProto {
        /// Return type (0 = void).
        ret: TypeId,
        /// Parameters in order.
        params: Vec<Param>,
    },
    /// VAR.
    Var {
        /// The referenced type id.
        ty: TypeId,
        /// Linkage (see `linkage`).
        linkage: u32,
    },
    /// DATASEC.
    Datasec {
        /// Size in bytes.
        size: u32,
        /// Variables in the section, by offset.
        vars: Vec<VarSecinfo>,
    },
    /// FLOAT.
    Float {
        /// Size in bytes.
        size: u32,
    },
    /// DECL_TAG.
    DeclTag {
        /// The referenced type id.
        ty: TypeId,
        /// Member/parameter index, or -1 for the whole declaration.
        component_idx: i32,
    },
    /// A kind unknown to this crate, kept verbatim.
    Unknown {
        /// The raw kind number.
        kind: u8,
        /// The raw vlen field.
        vlen: u32,
        /// The raw third header word.
        word3: u32,
        /// The bytes after the header, verbatim.
        payload: Vec<u8>,
    },
}

impl RecordData {
    /// The kind this data encodes.
    pub fn kind(&self) -> Kind {
        match self {
            RecordData::Int { .. } => Kind::Int,
            RecordData::Ptr(_) => Kind::Ptr,
            RecordData::Array(_) => Kind::Array,
            RecordData::Struct { .. } => Kind::Struct,
            RecordData::Union { .. } => Kind::Union,
            RecordData::Enum { .. } => Kind::Enum,
            RecordData::Enum64 { .. } => Kind::Enum64,
            RecordData::Fwd { .. } => Kind::Fwd,
            RecordData::Typedef(_) => Kind::Typedef,
            RecordData::Volatile(_) => Kind::Volatile,
            RecordData::Const(_) => Kind::Const,
            RecordData::Restrict(_) => Kind::Restrict,
            RecordData::TypeTag(_) => Kind::TypeTag,
            RecordData::Func { .. } => Kind::Func,
            RecordData::FuncProto { .. } => Kind::FuncProto,
            RecordData::Var { .. } => Kind::Var,
            RecordData::Datasec { .. } => Kind::Datasec,
            RecordData::Float { .. } => Kind::Float,
            RecordData::DeclTag { .. } => Kind::DeclTag,
            RecordData::Unknown { kind, .. } => Kind::Unknown(*kind),
        }
    }
}

impl Type<'_> {
    /// Copies this record into an owned [`TypeRecord`] (string offsets unchanged).
    pub fn to_record(&self) -> TypeRecord {
        let w3 = self.size_or_type();
        let data = match self.details() {
            TypeDetails::Int(info) => RecordData::Int { size: w3, info },
            TypeDetails::Ptr(t) => RecordData::Ptr(t),
            TypeDetails::Array(a) => RecordData::Array(a),
            TypeDetails::Struct(m) => RecordData::Struct { size: w3, members: m.collect() },
            TypeDetails::Union(m) => RecordData::Union { size: w3, members: m.collect() },
            TypeDetails::Enum(v) => RecordData::Enum { size: w3, values: v.collect() },
            TypeDetails::Enum64(v) => RecordData::Enum64 { size: w3, values: v.collect() },
            TypeDetails::Fwd { .. } => RecordData::Fwd { unused: w3 },
            TypeDetails::Typedef(t) => RecordData::Typedef(t),
            TypeDetails::Volatile(t) => RecordData::Volatile(t),
            TypeDetails::Const(t) => RecordData::Const(t),
            TypeDetails::Restrict(t) => RecordData::Restrict(t),
            TypeDetails::TypeTag(t) => RecordData::TypeTag(t),
            TypeDetails::Func { proto, linkage } => RecordData::Func { proto, linkage },
            TypeDetails::FuncProto { ret, params } => RecordData::FuncProto { ret, params: params.collect() },
            TypeDetails::Var { ty, linkage } => RecordData::Var { ty, linkage },
            TypeDetails::Datasec(v) => RecordData::Datasec { size: w3, vars: v.collect() },
            TypeDetails::Float => RecordData::Float { size: w3 },
            TypeDetails::DeclTag { ty, component_idx } => RecordData::DeclTag { ty, component_idx },
            TypeDetails::Unknown { kind, payload } => {
                RecordData::Unknown { kind, vlen: self.vlen(), word3: w3, payload: payload.to_vec() }
            }
        };
        TypeRecord { name_off: self.name_offset(), kind_flag: self.kind_flag(), data }
    }
}

/// A member to add with [`BtfBuilder::add_struct`] / [`BtfBuilder::add_union`].
#[derive(Debug, Clone, Copy)]
pub struct MemberSpec<'s> {
    /// The member name.
    pub name: &'s str,
    /// The referenced type id.
    pub ty: TypeId,
    /// Bit offset of the member.
    pub bit_offset: u32,
    /// Bitfield width in bits; 0 for a plain member.
    pub bitfield_size: u8,
}

impl<'s> MemberSpec<'s> {
    /// A plain member at a byte offset.
    pub fn new(name: &'s str, ty: TypeId, byte_offset: u32) -> Self {
        MemberSpec { name, ty, bit_offset: byte_offset * 8, bitfield_size: 0 }
    }
    /// A bitfield member.
    pub fn bitfield(name: &'s str, ty: TypeId, bit_offset: u32, bits: u8) -> Self {
        MemberSpec { name, ty, bit_offset, bitfield_size: bits }
    }
}

/// How many strings [`BtfBuilder::add_string`] finds by searching the string section before it
/// builds a map of them all (a search costs about one pass over the section; the map, a hash
/// and an allocation per string).
const SCANS_BEFORE_STRING_MAP: usize = 8;

/// Offset of the first string `s` in `strings` (NUL-separated, starting with the empty string):
/// the first match of `s` and its NUL that starts right after a NUL.
fn find_string(strings: &[u8], s: &[u8]) -> Option<usize> {
    let mut needle = Vec::with_capacity(s.len() + 1);
    needle.extend_from_slice(s);
    needle.push(0);
    memchr::memmem::find_iter(strings, &needle).find(|&at| at > 0 && strings[at - 1] == 0)
}

/// Builds BTF: a new base, a split on top of a parsed base, or a copy of a parsed blob to edit.
#[derive(Debug, Clone)]
pub struct BtfBuilder {
    endian: Endian,
    first_id: TypeId,
    first_str: u32,
    hdr_len: u32,
    strings: Vec<u8>,
    string_map: Option<HashMap<Vec<u8>, u32>>,
    /// Strings looked up by searching `strings` so far (see [`SCANS_BEFORE_STRING_MAP`]).
    string_scans: usize,
    types: Vec<TypeRecord>,
    layout: Option<Vec<u8>>,
}

impl Default for BtfBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl BtfBuilder {
    /// An empty base BTF in native byte order.
    pub fn new() -> Self {
        BtfBuilder {
            endian: Endian::NATIVE,
            first_id: 1,
            first_str: 0,
            hdr_len: BASE_HEADER_LEN,
            strings: vec![0],
            string_map: None,
            string_scans: 0,
            types: Vec::new(),
            layout: None,
        }
    }

    /// An empty split BTF continuing `base`'s ids and strings.
    pub fn new_split(base: &Btf) -> Self {
        BtfBuilder {
            endian: base.endian(),
            first_id: base.type_count(),
            first_str: base.strings_len(),
            strings: Vec::new(),
            ..Self::new()
        }
    }

    /// A copy of `btf`'s own types and strings (same ids, same string offsets, same header
    /// length and layout section), ready to edit or re-encode.
    pub fn from_btf(btf: &Btf) -> Self {
        BtfBuilder {
            endian: btf.endian(),
            first_id: btf.first_id(),
            first_str: btf.first_string_offset(),
            hdr_len: btf.header().hdr_len,
            strings: btf.own_strings().to_vec(),
            string_map: None,
            string_scans: 0,
            types: btf.types().map(|t| t.to_record()).collect(),
            layout: btf.layout().map(|l| l.bytes().to_vec()),
        }
    }

    /// Puts the own types and strings on a base of `first_id - 1` types and `first_str` string
    /// bytes; the records' ids and offsets are left for the caller to rewrite.
    pub(crate) fn rebase(&mut self, first_id: TypeId, first_str: u32) {
        self.first_id = first_id;
        self.first_str = first_str;
        self.string_map = None;
    }

    /// Sets the byte order of the output.
    pub fn set_endian(&mut self, endian: Endian) -> &mut Self {
        self.endian = endian;
        self
    }

    /// Sets (or removes) the layout section; a header with layout fields is written when set.
    pub fn set_layout(&mut self, layout: Option<Vec<u8>>) -> &mut Self {
        if layout.is_some() {
            self.hdr_len = self.hdr_len.max(LAYOUT_HEADER_LEN);
        }
        self.layout = layout;
        self
    }

    /// The id the next added type gets.
    pub fn next_id(&self) -> TypeId {
        self.first_id + self.types.len() as u32
    }

    /// The records added so far, in id order starting at the first own id.
    pub fn records(&self) -> &[TypeRecord] {
        &self.types
    }

    /// A record to edit in place.
    pub fn record_mut(&mut self, id: TypeId) -> Option<&mut TypeRecord> {
        let index = id.checked_sub(self.first_id)? as usize;
        self.types.get_mut(index)
    }

    /// Adds a string (deduplicated) and returns its offset. `""` is offset 0.
    ///
    /// The first few strings are searched for in the string section; after that a map of every
    /// string is built once. A blob re-encoded with a handful of new names (the kernel's copy
    /// of an object's BTF) so never hashes its thousands of strings.
    pub fn add_string(&mut self, s: &str) -> u32 {
        if s.is_empty() {
            return 0;
        }
        let first_str = self.first_str;
        if self.string_map.is_none() && self.string_scans < SCANS_BEFORE_STRING_MAP {
            self.string_scans += 1;
            if let Some(at) = find_string(&self.strings, s.as_bytes()) {
                return first_str + at as u32;
            }
            let off = first_str + self.strings.len() as u32;
            self.strings.extend_from_slice(s.as_bytes());
            self.strings.push(0);
            return off;
        }
        let strings = &self.strings;
        let map = self.string_map.get_or_insert_with(|| {
            let mut map = HashMap::new();
            let mut start = 0usize;
            for (i, &b) in strings.iter().enumerate() {
                if b == 0 {
                    map.entry(strings[start..i].to_vec()).or_insert(first_str + start as u32);
                    start = i + 1;
                }
            }
            map
        });
        if let Some(&off) = map.get(s.as_bytes()) {
            return off;
        }
        let off = first_str + self.strings.len() as u32;
        self.strings.extend_from_slice(s.as_bytes());
        self.strings.push(0);
        map.insert(s.as_bytes().to_vec(), off);
        off
    }

    /// Adds a record and returns its id.
    pub fn add_type(&mut self, record: TypeRecord) -> TypeId {
        let id = self.next_id();
        self.types.push(record);
        id
    }

    fn add(&mut self, name: &str, kind_flag: bool, data: RecordData) -> TypeId {
        let name_off = self.add_string(name);
        self.add_type(TypeRecord { name_off, kind_flag, data })
    }

    /// Adds an INT of `size` bytes.
    pub fn add_int(&mut self, name: &str, size: u32, encoding: IntEncoding) -> TypeId {
        self.add(name, false, RecordData::Int { size, info: IntInfo::new(encoding, 0, (size * 8).min(255) as u8) })
    }
    /// Adds a FLOAT.
    pub fn add_float(&mut self, name: &str, size: u32) -> TypeId {
        self.add(name, false, RecordData::Float { size })
    }
    /// Adds a PTR to `target`.
    pub fn add_ptr(&mut self, target: TypeId) -> TypeId {
        self.add("", false, RecordData::Ptr(target))
    }
    /// Adds an ARRAY of `nelems` `elem`s indexed by `index_type`.
    pub fn add_array(&mut self, elem: TypeId, index_type: TypeId, nelems: u32) -> TypeId {
        self.add("", false, RecordData::Array(ArrayInfo { elem_type: elem, index_type, nelems }))
    }
    fn members(&mut self, members: &[MemberSpec<'_>]) -> (bool, Vec<Member>) {
        let kind_flag = members.iter().any(|m| m.bitfield_size != 0);
        let members = members
            .iter()
            .map(|m| Member {
                name_off: self.add_string(m.name),
                ty: m.ty,
                raw_offset: if kind_flag { (m.bitfield_size as u32) << 24 | m.bit_offset } else { m.bit_offset },
                kind_flag,
            })
            .collect();
        (kind_flag, members)
    }
    /// Adds a STRUCT; the kind flag is set when any member is a bitfield.
    pub fn add_struct(&mut self, name: &str, size: u32, members: &[MemberSpec<'_>]) -> TypeId {
        let (kind_flag, members) = self.members(members);
        self.add(name, kind_flag, RecordData::Struct { size, members })
    }
    /// Adds a UNION.
    pub fn add_union(&mut self, name: &str, size: u32, members: &[MemberSpec<'_>]) -> TypeId {
        let (kind_flag, members) = self.members(members);
        self.add(name, kind_flag, RecordData::Union { size, members })
    }
    /// Adds an ENUM with 32-bit values.
    pub fn add_enum(&mut self, name: &str, size: u32, signed: bool, values: &[(&str, i32)]) -> TypeId {
        let values = values
            .iter()
            .map(|&(n, v)| Enumerator { name_off: self.add_string(n), raw_value: v as u32, signed })
            .collect();
        self.add(name, signed, RecordData::Enum { size, values })
    }
    /// Adds an ENUM64.
    pub fn add_enum64(&mut self, name: &str, size: u32, signed: bool, values: &[(&str, u64)]) -> TypeId {
        let values = values
            .iter()
            .map(|&(n, v)| Enumerator64 {
                name_off: self.add_string(n),
                lo32: v as u32,
                hi32: (v >> 32) as u32,
                signed,
            })
            .collect();
        self.add(name, signed, RecordData::Enum64 { size, values })
    }
    /// Adds a FWD declaration of a struct (or union).
    pub fn add_fwd(&mut self, name: &str, is_union: bool) -> TypeId {
        self.add(name, is_union, RecordData::Fwd { unused: 0 })
    }
    /// Adds a TYPEDEF.
    pub fn add_typedef(&mut self, name: &str, target: TypeId) -> TypeId {
        self.add(name, false, RecordData::Typedef(target))
    }
    /// Adds a VOLATILE.
    pub fn add_volatile(&mut self, target: TypeId) -> TypeId {
        self.add("", false, RecordData::Volatile(target))
    }
    /// Adds a CONST.
    pub fn add_const(&mut self, target: TypeId) -> TypeId {
        self.add("", false, RecordData::Const(target))
    }
    /// Adds a RESTRICT.
    pub fn add_restrict(&mut self, target: TypeId) -> TypeId {
        self.add("", false, RecordData::Restrict(target))
    }
    /// Adds a TYPE_TAG named `tag` on `target`.
    pub fn add_type_tag(&mut self, tag: &str, target: TypeId) -> TypeId {
        self.add(tag, false, RecordData::TypeTag(target))
    }
    /// Adds a FUNC_PROTO.
    pub fn add_func_proto(&mut self, ret: TypeId, params: &[(&str, TypeId)]) -> TypeId {
        let params = params.iter().map(|&(n, ty)| Param { name_off: self.add_string(n), ty }).collect();
        self.add("", false, RecordData::FuncProto { ret, params })
    }
    /// Adds a FUNC with the given [`linkage`](crate::linkage).
    pub fn add_func(&mut self, name: &str, proto: TypeId, linkage: u32) -> TypeId {
        self.add(name, false, RecordData::Func { proto, linkage })
    }
    /// Adds a VAR with the given [`linkage`](crate::linkage).
    pub fn add_var(&mut self, name: &str, ty: TypeId, linkage: u32) -> TypeId {
        self.add(name, false, RecordData::Var { ty, linkage })
    }
    /// Adds a DATASEC.
    pub fn add_datasec(&mut self, name: &str, size: u32, vars: &[VarSecinfo]) -> TypeId {
        self.add(name, false, RecordData::Datasec { size, vars: vars.to_vec() })
    }
    /// Adds a DECL_TAG on `target` (component -1 = the whole type).
    pub fn add_decl_tag(&mut self, tag: &str, target: TypeId, component_idx: i32) -> TypeId {
        self.add(tag, false, RecordData::DeclTag { ty: target, component_idx })
    }

    fn encode_record(&self, rec: &TypeRecord, id: TypeId, out: &mut Vec<u8>) -> Result<()> {
        let e = self.endian;
        let kind = rec.data.kind();
        let (vlen, word3) = match &rec.data {
            RecordData::Int { size, .. } | RecordData::Float { size } => (0, *size),
            RecordData::Struct { size, members } | RecordData::Union { size, members } => (members.len(), *size),
            RecordData::Enum { size, values } => (values.len(), *size),
            RecordData::Enum64 { size, values } => (values.len(), *size),
            RecordData::Datasec { size, vars } => (vars.len(), *size),
            RecordData::Fwd { unused } => (0, *unused),
            RecordData::Ptr(t)
            | RecordData::Typedef(t)
            | RecordData::Volatile(t)
            | RecordData::Const(t)
            | RecordData::Restrict(t)
            | RecordData::TypeTag(t) => (0, *t),
            RecordData::Array(_) => (0, 0),
            RecordData::Func { proto, linkage } => (*linkage as usize, *proto),
            RecordData::FuncProto { ret, params } => (params.len(), *ret),
            RecordData::Var { ty, .. } | RecordData::DeclTag { ty, .. } => (0, *ty),
            RecordData::Unknown { vlen, word3, .. } => (*vlen as usize, *word3),
        };
        let info = u32::try_from(vlen)
            .ok()
            .and_then(|vlen| Info { kind: kind.raw(), vlen, kind_flag: rec.kind_flag }.encode())
            .ok_or_else(|| BtfError::Encode(format!("type [{id}] has {vlen} elements, more than BTF can count")))?;
        e.put_u32(out, rec.name_off);
        e.put_u32(out, info);
        e.put_u32(out, word3);
        match &rec.data {
            RecordData::Int { info, .. } => e.put_u32(out, info.raw),
            RecordData::Array(a) => {
                e.put_u32(out, a.elem_type);
                e.put_u32(out, a.index_type);
                e.put_u32(out, a.nelems);
            }
            RecordData::Struct { members, .. } | RecordData::Union { members, .. } => {
                for m in members {
                    e.put_u32(out, m.name_off);
                    e.put_u32(out, m.ty);
                    e.put_u32(out, m.raw_offset);
                }
            }
            RecordData::Enum { values, .. } => {
                for v in values {
                    e.put_u32(out, v.name_off);
                    e.put_u32(out, v.raw_value);
                }
            }
            RecordData::Enum64 { values, .. } => {
                for v in values {
                    e.put_u32(out, v.name_off);
                    e.put_u32(out, v.lo32);
                    e.put_u32(out, v.hi32);
                }
            }
            RecordData::FuncProto { params, .. } => {
                for p in params {
                    e.put_u32(out, p.name_off);
                    e.put_u32(out, p.ty);
                }
            }
            RecordData::Var { linkage, .. } => e.put_u32(out, *linkage),
            RecordData::Datasec { vars, .. } => {
                for v in vars {
                    e.put_u32(out, v.ty);
                    e.put_u32(out, v.offset);
                    e.put_u32(out, v.size);
                }
            }
            RecordData::DeclTag { component_idx, .. } => e.put_u32(out, *component_idx as u32),
            RecordData::Unknown { payload, .. } => out.extend_from_slice(payload),
            _ => {}
        }
        Ok(())
    }

    /// Encodes header, type section, string section (and layout section, if any).
    pub fn encode(&self) -> Result<Vec<u8>> {
        let e = self.endian;
        let mut types = Vec::with_capacity(self.types.len() * 16);
        for (i, rec) in self.types.iter().enumerate() {
            self.encode_record(rec, self.first_id + i as u32, &mut types)?;
        }
        let layout = self.layout.as_deref().unwrap_or(&[]);
        let too_big = |what: &str| BtfError::Encode(format!("{what} exceeds 4 GiB"));
        let type_len = u32::try_from(types.len()).map_err(|_| too_big("type section"))?;
        let str_len = u32::try_from(self.strings.len()).map_err(|_| too_big("string section"))?;
        let layout_len = u32::try_from(layout.len()).map_err(|_| too_big("layout section"))?;
        let str_off = type_len;
        let layout_off = str_off.checked_add(str_len).ok_or_else(|| too_big("BTF"))?;
        let hdr_len = if self.layout.is_some() { self.hdr_len.max(LAYOUT_HEADER_LEN) } else { self.hdr_len };
        let mut out = Vec::with_capacity(hdr_len as usize + types.len() + self.strings.len() + layout.len());
        e.put_u16(&mut out, MAGIC);
        out.push(1);
        out.push(0);
        e.put_u32(&mut out, hdr_len);
        e.put_u32(&mut out, 0);
        e.put_u32(&mut out, type_len);
        e.put_u32(&mut out, str_off);
        e.put_u32(&mut out, str_len);
        if hdr_len >= LAYOUT_HEADER_LEN {
            let (off, len) = if self.layout.is_some() { (layout_off, layout_len) } else { (0, 0) };
            e.put_u32(&mut out, off);
            e.put_u32(&mut out, len);
        }
        out.resize(hdr_len as usize, 0);
        out.extend_from_slice(&types);
        out.extend_from_slice(&self.strings);
        out.extend_from_slice(layout);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::{BtfBuilder, SCANS_BEFORE_STRING_MAP};

    /// Offsets come out the same whether a string was found by searching the section or in the
    /// map built later: the first whole string of that name, never the tail of another.
    #[test]
    fn strings_are_found_alike_before_and_after_the_map() {
        let mut b = BtfBuilder::new();
        let ab = b.add_string("ab");
        let tail_of_ab = b.add_string("b");
        assert_ne!(tail_of_ab, ab + 1, "\"b\" is not the tail of \"ab\"");
        let again = b.add_string("ab");
        assert_eq!(again, ab);
        for i in 0..2 * SCANS_BEFORE_STRING_MAP {
            b.add_string(&format!("s{i}"));
        }
        // Past the threshold: the map answers, with the same offsets.
        assert_eq!((b.add_string("ab"), b.add_string("b")), (ab, tail_of_ab));
        assert_eq!(b.add_string("s3"), b.add_string("s3"));
        let fresh = b.add_string("new");
        assert_eq!(b.add_string("new"), fresh);
        assert_eq!(b.add_string(""), 0);
    }
}
