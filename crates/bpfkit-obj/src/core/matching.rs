//! Matching a local spec against one target candidate: the same path by member *names* (found
//! wherever the target nests them in anonymous structs and unions), the same array indexes
//! (within the target's bounds), compatible field types; for enum values, an enumerator with
//! the same essential name; for type relocations, compatible (or matching) types.

use bpfkit_btf::{Btf, TypeDetails, TypeId};

use super::RelocKind;
use super::compat::{fields_compatible, types_compatible, types_match};
use super::names::same_essential;
use super::spec::{Accessor, MAX_SPEC_LEN, Spec, add_bits, elem_bits, is_flexible_array};

/// The target spec for `local` rooted at candidate `target_id`, or `None` when the candidate
/// does not match.
pub(crate) fn match_candidate<'t>(
    local: &Spec<'_>,
    target: &'t Btf,
    target_id: TypeId,
) -> Result<Option<Spec<'t>>, String> {
    let mut spec = Spec {
        btf: target,
        root_type_id: target_id,
        kind: local.kind,
        accessors: Vec::new(),
        raw: Vec::new(),
        bit_offset: 0,
    };
    if local.kind.is_type() {
        let ok = if local.kind == RelocKind::TypeMatches {
            types_match(local.btf, local.root_type_id, target, target_id)?
        } else {
            types_compatible(local.btf, local.root_type_id, target, target_id)?
        };
        return Ok(ok.then_some(spec));
    }
    if local.kind.is_enum_value() {
        let Some(Accessor { name: Some(wanted), .. }) = local.accessors.first() else {
            return Err("enum value spec without an enumerator".into());
        };
        let id = target.resolve(target_id).map_err(|e| e.to_string())?;
        let t = target.type_by_id(id).map_err(|e| e.to_string())?;
        let names: Vec<u32> = match t.details() {
            TypeDetails::Enum(e) => e.map(|v| v.name_off).collect(),
            TypeDetails::Enum64(e) => e.map(|v| v.name_off).collect(),
            _ => return Ok(None),
        };
        for (index, off) in names.into_iter().enumerate() {
            let name = target.str_at(off).map_err(|e| e.to_string())?;
            if !name.is_empty() && same_essential(name, wanted) {
                spec.accessors.push(Accessor { type_id: id, index: index as u32, name: Some(name.to_owned()) });
                spec.raw.push(index as u32);
                return Ok(Some(spec));
            }
        }
        return Ok(None);
    }
    let mut id = target_id;
    for (i, acc) in local.accessors.iter().enumerate() {
        if acc.name.is_some() {
            match match_member(local.btf, acc, target, id, &mut spec, 0)? {
                Some(next) => id = next,
                None => return Ok(None),
            }
            continue;
        }
        if i > 0 {
            // An index step: the target must have an array here too, long enough.
            let arr = target.resolve(id).map_err(|e| e.to_string())?;
            let Ok(TypeDetails::Array(a)) = target.type_by_id(arr).map(|t| t.details()) else { return Ok(None) };
            if !is_flexible_array(target, spec.accessors.last(), a.nelems) && acc.index >= a.nelems {
                return Ok(None);
            }
            id = target.resolve(a.elem_type).map_err(|e| e.to_string())?;
        } else {
            id = target.resolve(id).map_err(|e| e.to_string())?;
        }
        if spec.raw.len() >= MAX_SPEC_LEN {
            return Err("target access path too deep".into());
        }
        spec.accessors.push(Accessor { type_id: id, index: acc.index, name: None });
        spec.raw.push(acc.index);
        let size = target.size_of(id).map_err(|e| format!("type [{id}]: {e}"))?;
        spec.bit_offset = add_bits(spec.bit_offset, elem_bits(acc.index, size)?)?;
    }
    Ok(Some(spec))
}

/// Finds member `local_acc` (a named step) in target composite `target_id`, descending into
/// anonymous members; on success pushes the step onto `spec` and returns the member's type.
fn match_member(
    local: &Btf,
    local_acc: &Accessor,
    target: &Btf,
    target_id: TypeId,
    spec: &mut Spec<'_>,
    depth: u32,
) -> Result<Option<TypeId>, String> {
    if depth > MAX_SPEC_LEN as u32 {
        return Err("anonymous member nesting too deep".into());
    }
    let local_t = local.type_by_id(local_acc.type_id).map_err(|e| e.to_string())?;
    let local_m = local_t
        .members()
        .get(local_acc.index as usize)
        .ok_or_else(|| format!("member {} of local [{}] does not exist", local_acc.index, local_acc.type_id))?;
    let wanted = local_acc.name.as_deref().unwrap_or("");
    let id = target.resolve(target_id).map_err(|e| e.to_string())?;
    let t = target.type_by_id(id).map_err(|e| e.to_string())?;
    if !t.is_composite() {
        return Ok(None);
    }
    for (i, m) in t.members().enumerate() {
        if spec.raw.len() >= MAX_SPEC_LEN {
            return Err("target access path too deep".into());
        }
        let bit_offset = u64::from(m.bit_offset());
        let name = target.str_at(m.name_off).map_err(|e| e.to_string())?;
        spec.bit_offset = add_bits(spec.bit_offset, bit_offset)?;
        spec.raw.push(i as u32);
        if name.is_empty() {
            if let Some(found) = match_member(local, local_acc, target, m.ty, spec, depth + 1)? {
                return Ok(Some(found));
            }
        } else if name == wanted {
            if !fields_compatible(local, local_m.ty, target, m.ty)? {
                spec.bit_offset -= bit_offset;
                spec.raw.pop();
                return Ok(None);
            }
            spec.accessors.push(Accessor { type_id: id, index: i as u32, name: Some(name.to_owned()) });
            return Ok(Some(m.ty));
        }
        spec.bit_offset -= bit_offset;
        spec.raw.pop();
    }
    Ok(None)
}
