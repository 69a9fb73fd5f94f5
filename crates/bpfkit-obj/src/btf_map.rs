//! BTF-defined maps: libbpf's `struct { __uint(type, ...); __type(key, ...); ... } name
//! SEC(".maps");`. The definition lives entirely in the type of the variable, because the macros
//! encode numbers and types as pointer types clang keeps in BTF:
//!
//! - `__uint(name, N)` is `int (*name)[N]`: a pointer to an array of N elements;
//! - `__type(name, T)` is `typeof(T) *name`: a pointer to T (the key or value type);
//! - `__array(name, T)` is `typeof(T) *name[]`: a zero-length array of pointers to T, the inner
//!   map's definition (map-in-map) or a function prototype (program array);
//! - `__ulong(name, N)` is `enum { unique = N } name`: an ENUM (or ENUM64 for values above 32
//!   bits) with exactly one enumerator, for 64-bit fields (`map_extra`: an arena's address, a
//!   bloom filter's hash count).

use bpfkit_btf::{Btf, Type, TypeDetails, TypeId};

use crate::error::{ObjError, Result};
use crate::kernel_types::MapType;
use crate::map::{MapDef, Pinning};

/// A map definition read from BTF, with what the `values` member says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BtfMapDef {
    pub def: MapDef,
    /// The inner map's definition, for `__array(values, struct { ... })`.
    pub inner: Option<MapDef>,
    /// Byte offset of the `values` member in the definition struct (where initializer pointers
    /// sit, 8 bytes per slot).
    pub values_offset: Option<u32>,
}

/// `LIBBPF_PIN_BY_NAME`.
const PIN_BY_NAME: u32 = 1;

/// Reads the definition struct `def_type` of map `map` (the VAR's type, or the pointee of an
/// `__array` for inner maps).
pub(crate) fn parse(btf: &Btf, map: &str, def_type: TypeId, inner_allowed: bool) -> Result<BtfMapDef> {
    let btf_err = |e: bpfkit_btf::BtfError| ObjError::map(map, format!("definition BTF: {e}"));
    let ty = btf
        .resolve_type(def_type)
        .map_err(btf_err)?
        .ok_or_else(|| ObjError::map(map, "definition is void, not a struct"))?;
    let TypeDetails::Struct(members) = ty.details() else {
        return Err(ObjError::map(map, format!("definition is a {:?}, not a struct", ty.kind())));
    };
    let mut out = BtfMapDef { def: MapDef::default(), inner: None, values_offset: None };
    let (mut key_size, mut value_size) = (None, None);
    for member in members {
        // Compared as bytes: a name that is not one of these is an error whatever it holds.
        let name = btf.str_bytes_at(member.name_off).map_err(btf_err)?;
        let field = |why: String| ObjError::map(map, format!("field {}: {why}", String::from_utf8_lossy(name)));
        match name {
            b"type" => out.def.map_type = MapType(uint(btf, member.ty).map_err(field)?),
            b"max_entries" => out.def.max_entries = uint(btf, member.ty).map_err(field)?,
            b"map_flags" => out.def.map_flags = uint(btf, member.ty).map_err(field)?,
            b"numa_node" => out.def.numa_node = uint(btf, member.ty).map_err(field)?,
            // The one 64-bit field: `__uint` or `__ulong`, as libbpf reads it.
            b"map_extra" => out.def.map_extra = ulong(btf, member.ty).map_err(field)?,
            b"key_size" => key_size = Some(uint(btf, member.ty).map_err(field)?),
            b"value_size" => value_size = Some(uint(btf, member.ty).map_err(field)?),
            b"pinning" => {
                out.def.pinning = match uint(btf, member.ty).map_err(field)? {
                    0 => Pinning::None,
                    PIN_BY_NAME => Pinning::ByName,
                    other => return Err(field(format!("unknown pinning mode {other} (0 = none, 1 = by name)"))),
                }
            }
            b"key" => {
                let (ty, size) = pointee(btf, member.ty).map_err(field)?;
                out.def.btf_key_type = Some(ty);
                agree(map, "key", &mut key_size, size)?;
            }
            b"value" => {
                let (ty, size) = pointee(btf, member.ty).map_err(field)?;
                out.def.btf_value_type = Some(ty);
                agree(map, "value", &mut value_size, size)?;
            }
            b"values" => {
                if !inner_allowed {
                    return Err(field("an inner map cannot have `values` itself".into()));
                }
                out.values_offset = Some(member.bit_offset() / 8);
                let elem = array_of_pointers(btf, member.ty).map_err(field)?;
                let elem_ty = btf.type_by_id(elem).map_err(btf_err)?;
                match elem_ty.details() {
                    TypeDetails::Struct(_) => {
                        let inner = parse(btf, &format!("{map}.values"), elem, false)?;
                        out.inner = Some(inner.def);
                    }
                    // A program array: `__array(values, int (void *))`.
                    TypeDetails::FuncProto { .. } => {}
                    _ => {
                        return Err(field(format!(
                            "elements point to a {:?}, not a map definition or a function",
                            elem_ty.kind()
                        )));
                    }
                }
                // The value of map-in-map and program arrays is an fd.
                agree(map, "value", &mut value_size, 4)?;
            }
            other => {
                let other = String::from_utf8_lossy(other);
                return Err(ObjError::map(map, format!("unknown field {other:?} in the definition")));
            }
        }
    }
    if out.def.map_type == MapType::UNSPEC {
        return Err(ObjError::map(map, "no map type (`__uint(type, ...)`)"));
    }
    out.def.key_size = key_size.unwrap_or(0);
    out.def.value_size = value_size.unwrap_or(0);
    Ok(out)
}

/// Sets `slot` to `size`, or checks that both ways of giving a size agree.
fn agree(map: &str, what: &str, slot: &mut Option<u32>, size: u32) -> Result<()> {
    match *slot {
        Some(given) if given != size => {
            Err(ObjError::map(map, format!("{what} size {given} disagrees with the {what} type's size {size}")))
        }
        _ => {
            *slot = Some(size);
            Ok(())
        }
    }
}

/// The type `ty` names, modifiers skipped (typedefs too with `typedefs`); void is an error.
fn view(btf: &Btf, ty: TypeId, typedefs: bool) -> Result<Type<'_>, String> {
    let found = if typedefs { btf.resolve_type(ty) } else { btf.skip_modifiers_type(ty) };
    found.map_err(|e| e.to_string())?.ok_or_else(|| "is void".to_owned())
}

/// The N of `int (*name)[N]`.
fn uint(btf: &Btf, ty: TypeId) -> Result<u32, String> {
    let ptr = view(btf, ty, false)?;
    let TypeDetails::Ptr(target) = ptr.details() else {
        return Err(format!("is a {:?}, not `__uint` (a pointer to an array)", ptr.kind()));
    };
    let array = view(btf, target, true).map_err(|why| format!("points to what {why}"))?;
    match array.details() {
        TypeDetails::Array(info) => Ok(info.nelems),
        _ => Err(format!("points to a {:?}, not to an array (`__uint`)", array.kind())),
    }
}

/// The N of `__uint(name, N)` or of `__ulong(name, N)` (a one-enumerator ENUM or ENUM64).
fn ulong(btf: &Btf, ty: TypeId) -> Result<u64, String> {
    let t = view(btf, ty, true)?;
    let one = |count: usize| {
        if count == 1 {
            Ok(())
        } else {
            Err(format!("`__ulong` is an enum with exactly one enumerator, this one has {count}"))
        }
    };
    match t.details() {
        TypeDetails::Ptr(_) => uint(btf, ty).map(u64::from),
        // The value bits as stored: libbpf zero-extends a 32-bit enumerator.
        TypeDetails::Enum(values) => {
            one(values.len())?;
            Ok(values.get(0).map_or(0, |e| u64::from(e.raw_value)))
        }
        TypeDetails::Enum64(values) => {
            one(values.len())?;
            Ok(values.get(0).map_or(0, |e| e.raw_value()))
        }
        _ => Err(format!("is a {:?}, neither `__uint` (a pointer to an array) nor `__ulong` (an enum)", t.kind())),
    }
}

/// The T of `typeof(T) *name` and its size.
fn pointee(btf: &Btf, ty: TypeId) -> Result<(TypeId, u32), String> {
    let ptr = view(btf, ty, false)?;
    let TypeDetails::Ptr(target) = ptr.details() else {
        return Err(format!("is a {:?}, not `__type` (a pointer)", ptr.kind()));
    };
    let size = btf.size_of(target).map_err(|e| format!("size of the type: {e}"))?;
    let size = u32::try_from(size).map_err(|_| format!("type size {size} does not fit 32 bits"))?;
    Ok((target, size))
}

/// The T of `typeof(T) *name[]`.
fn array_of_pointers(btf: &Btf, ty: TypeId) -> Result<TypeId, String> {
    let array = view(btf, ty, false)?;
    let TypeDetails::Array(info) = array.details() else {
        return Err(format!("is a {:?}, not `__array` (an array of pointers)", array.kind()));
    };
    let ptr = view(btf, info.elem_type, false).map_err(|why| format!("elements: {why}"))?;
    let TypeDetails::Ptr(target) = ptr.details() else {
        return Err(format!("elements are {:?}, not pointers", ptr.kind()));
    };
    btf.resolve(target).map_err(|e| e.to_string())
}
