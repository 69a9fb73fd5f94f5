//! Access specs: the path a relocation describes, from its root type through members and array
//! elements, as parsed from the `.BTF.ext` access string (`0:1:2`) against one BTF (the object's
//! for the local spec, a kernel's for the matched target spec).
//!
//! The first number indexes the root type as an array (`&p[0]`); each next one is a member
//! index of a struct or union, or an element index of an array. Anonymous members appear in
//! the raw path but not as named steps: matching a target follows names, wherever the target
//! nests them.

use std::fmt;

use bpfkit_btf::{Btf, TypeDetails, TypeId};

use super::RelocKind;

/// Deepest access path accepted (libbpf's limit too).
pub const MAX_SPEC_LEN: usize = 64;

/// One named step (a member), or an array index step (`name` is `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Accessor {
    /// For a member: the struct or union holding it. For an index: the element type.
    pub type_id: TypeId,
    /// Member index, array index or enumerator index.
    pub index: u32,
    /// Member or enumerator name; `None` for array indexes.
    pub name: Option<String>,
}

/// A resolved access path in one BTF.
#[derive(Debug, Clone)]
pub(crate) struct Spec<'b> {
    pub btf: &'b Btf,
    pub root_type_id: TypeId,
    pub kind: RelocKind,
    /// Named and index steps.
    pub accessors: Vec<Accessor>,
    /// Every index of the path, anonymous members included.
    pub raw: Vec<u32>,
    /// Bit offset of the field from the start of the root object.
    pub bit_offset: u64,
}

/// Why a spec could not be built (the relocation is malformed for this BTF).
pub(crate) type SpecError = String;

fn skip_mods_and_typedefs(btf: &Btf, id: TypeId) -> Result<TypeId, SpecError> {
    btf.resolve(id).map_err(|e| e.to_string())
}

fn size_of(btf: &Btf, id: TypeId) -> Result<u64, SpecError> {
    btf.size_of(id).map_err(|e| format!("type [{id}]: {e}"))
}

/// `index * size * 8`, or an error when a corrupt type makes it overflow.
pub(crate) fn elem_bits(index: u32, size: u64) -> Result<u64, SpecError> {
    u64::from(index)
        .checked_mul(size)
        .and_then(|b| b.checked_mul(8))
        .ok_or_else(|| "access offset overflows".to_owned())
}

/// `a + b`, or an error when a corrupt type makes it overflow.
pub(crate) fn add_bits(a: u64, b: u64) -> Result<u64, SpecError> {
    a.checked_add(b).ok_or_else(|| "access offset overflows".to_owned())
}

/// Whether the array reached through the member `holder` is a flexible array member (no
/// elements, the last member of its struct), which may be indexed past its declared size.
pub(crate) fn is_flexible_array(btf: &Btf, holder: Option<&Accessor>, nelems: u32) -> bool {
    let Some(Accessor { type_id, index, name: Some(_) }) = holder else { return false };
    if nelems > 0 {
        return false;
    }
    btf.type_by_id(*type_id).is_ok_and(|t| t.vlen() > 0 && *index == t.vlen() - 1)
}

impl<'b> Spec<'b> {
    /// Parses `access` (`0:1:2`) for a relocation of `kind` rooted at local type `root`.
    pub fn parse(btf: &'b Btf, root: TypeId, access: &str, kind: RelocKind) -> Result<Spec<'b>, SpecError> {
        let raw: Vec<u32> = access
            .split(':')
            .map(|n| n.parse::<u32>().map_err(|_| format!("access string {access:?} is not a list of numbers")))
            .collect::<Result<_, _>>()?;
        if raw.is_empty() || raw.len() > MAX_SPEC_LEN {
            return Err(format!("access string {access:?} has {} steps (1..={MAX_SPEC_LEN} allowed)", raw.len()));
        }
        let mut spec = Spec { btf, root_type_id: root, kind, accessors: Vec::new(), raw: raw.clone(), bit_offset: 0 };
        if kind.is_type() {
            if access != "0" {
                return Err(format!("type relocation with access string {access:?} (expected \"0\")"));
            }
            return Ok(spec);
        }
        let mut id = skip_mods_and_typedefs(btf, root)?;
        let first = raw[0];
        if kind.is_enum_value() {
            let t = btf.type_by_id(id).map_err(|e| e.to_string())?;
            let name_off = match t.details() {
                TypeDetails::Enum(e) => e.get(first as usize).map(|v| v.name_off),
                TypeDetails::Enum64(e) => e.get(first as usize).map(|v| v.name_off),
                _ => return Err(format!("enum value relocation on [{id}], a {}", t.kind())),
            };
            let name_off = name_off
                .filter(|_| raw.len() == 1)
                .ok_or_else(|| format!("enumerator {first} of [{id}] does not exist (access {access:?})"))?;
            let name = btf.str_at(name_off).map_err(|e| e.to_string())?;
            spec.accessors.push(Accessor { type_id: id, index: first, name: Some(name.to_owned()) });
            return Ok(spec);
        }
        spec.accessors.push(Accessor { type_id: id, index: first, name: None });
        spec.bit_offset = elem_bits(first, size_of(btf, id)?)?;
        for &index in &raw[1..] {
            id = skip_mods_and_typedefs(btf, id)?;
            let t = btf.type_by_id(id).map_err(|e| e.to_string())?;
            match t.details() {
                TypeDetails::Struct(members) | TypeDetails::Union(members) => {
                    let m = members
                        .get(index as usize)
                        .ok_or_else(|| format!("member {index} of [{id}] does not exist (access {access:?})"))?;
                    spec.bit_offset = add_bits(spec.bit_offset, u64::from(m.bit_offset()))?;
                    if m.name_off != 0 {
                        let name = btf.str_at(m.name_off).map_err(|e| e.to_string())?;
                        spec.accessors.push(Accessor { type_id: id, index, name: Some(name.to_owned()) });
                    }
                    id = m.ty;
                }
                TypeDetails::Array(a) => {
                    let elem = skip_mods_and_typedefs(btf, a.elem_type)?;
                    if !is_flexible_array(btf, spec.accessors.last(), a.nelems) && index >= a.nelems {
                        return Err(format!("index {index} past the {} elements of array [{id}]", a.nelems));
                    }
                    spec.accessors.push(Accessor { type_id: elem, index, name: None });
                    spec.bit_offset = add_bits(spec.bit_offset, elem_bits(index, size_of(btf, elem)?)?)?;
                    id = elem;
                }
                _ => {
                    return Err(format!(
                        "access {access:?} steps into [{id}], a {} (not a struct, union or array)",
                        t.kind()
                    ));
                }
            }
        }
        Ok(spec)
    }
}

impl fmt::Display for Spec<'_> {
    /// `[7] struct task_struct.pid (0:12 @ offset 1234)`, like libbpf's debug output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let root = self.btf.type_by_id(self.root_type_id);
        let (kind, name) = match &root {
            // Kind names are ASCII (`STRUCT`): lowercased without Unicode's case tables.
            Ok(t) => (t.kind().to_string().to_ascii_lowercase(), t.name().unwrap_or("?")),
            Err(_) => ("?".into(), "?"),
        };
        write!(f, "[{}] {kind} {}", self.root_type_id, if name.is_empty() { "<anon>" } else { name })?;
        if self.kind.is_type() {
            return Ok(());
        }
        if self.kind.is_enum_value() {
            if let Some(Accessor { name: Some(n), .. }) = self.accessors.first() {
                write!(f, "::{n}")?;
            }
        } else {
            for (i, acc) in self.accessors.iter().enumerate() {
                match &acc.name {
                    Some(n) => write!(f, ".{n}")?,
                    None if i == 0 && acc.index == 0 => {}
                    None => write!(f, "[{}]", acc.index)?,
                }
            }
        }
        f.write_str(" (")?;
        for (i, index) in self.raw.iter().enumerate() {
            write!(f, "{}{index}", if i == 0 { "" } else { ":" })?;
        }
        if self.kind.is_field() {
            write!(f, " @ offset {}", self.bit_offset / 8)?;
            if self.bit_offset % 8 != 0 {
                write!(f, ".{}", self.bit_offset % 8)?;
            }
        }
        write!(f, ")")
    }
}
