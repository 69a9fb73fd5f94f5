//! The value a relocation takes for one spec: the local spec gives the value the compiler
//! assumed (checked against the instruction), a target spec the value for the kernel, and no
//! target at all gives 0 for the existence checks and "poison" for the rest.

use bpfkit_btf::{Kind, TypeDetails, TypeId};

use super::RelocKind;
use super::spec::Spec;

/// One side's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Value {
    pub value: u64,
    /// For a plain (non-bitfield) field offset: the field's size, which the instruction's load
    /// or store size must follow if it changes.
    pub field_size: Option<(u32, TypeId)>,
    /// Whether the instruction's current value must equal the local value (not for bitfield
    /// offsets, where compilers legitimately pick other load sizes, nor for target type ids).
    pub validate: bool,
}

/// Outcome of computing one side.
pub(crate) enum Calc {
    Value(Value),
    /// The target has no such field/enumerator: the instruction must be poisoned.
    Poison,
}

fn v(value: u64, validate: bool) -> Calc {
    Calc::Value(Value { value, field_size: None, validate })
}

/// Computes the relocation of `kind` for `spec` (`None`: no candidate matched).
pub(crate) fn calc(kind: RelocKind, spec: Option<&Spec<'_>>) -> Result<Calc, String> {
    if kind.is_field() {
        field(kind, spec)
    } else if kind.is_type() {
        let Some(spec) = spec else { return Ok(v(0, true)) };
        Ok(match kind {
            RelocKind::TypeIdLocal | RelocKind::TypeIdTarget => {
                v(u64::from(spec.root_type_id), kind == RelocKind::TypeIdLocal)
            }
            RelocKind::TypeExists | RelocKind::TypeMatches => v(1, true),
            _ => v(spec.btf.size_of(spec.root_type_id).map_err(|e| e.to_string())?, true),
        })
    } else {
        let Some(spec) = spec else {
            return Ok(if kind == RelocKind::EnumValueExists { v(0, true) } else { Calc::Poison });
        };
        if kind == RelocKind::EnumValueExists {
            return Ok(v(1, true));
        }
        let acc = spec.accessors.first().ok_or("enum value spec without an enumerator")?;
        let t = spec.btf.type_by_id(acc.type_id).map_err(|e| e.to_string())?;
        let value = match t.details() {
            TypeDetails::Enum(e) => e.get(acc.index as usize).map(|x| x.value() as u64),
            TypeDetails::Enum64(e) => e.get(acc.index as usize).map(|x| x.raw_value()),
            _ => None,
        };
        Ok(v(value.ok_or_else(|| format!("enumerator {} of [{}] is gone", acc.index, acc.type_id))?, true))
    }
}

fn field(kind: RelocKind, spec: Option<&Spec<'_>>) -> Result<Calc, String> {
    if kind == RelocKind::FieldExists {
        return Ok(v(spec.is_some() as u64, true));
    }
    let Some(spec) = spec else { return Ok(Calc::Poison) };
    let btf = spec.btf;
    let acc = spec.accessors.last().ok_or("field spec without steps")?;
    let size_of = |id: TypeId| btf.size_of(id).map_err(|e| format!("type [{id}]: {e}"));
    let Some(_) = &acc.name else {
        // The path ends in an array element (`arr[2]`): it has an offset and a size, nothing else.
        let size = size_of(acc.type_id)?;
        let size32 = u32::try_from(size).map_err(|_| "array element too large")?;
        return match kind {
            RelocKind::FieldByteOffset => Ok(Calc::Value(Value {
                value: spec.bit_offset / 8,
                field_size: Some((size32, acc.type_id)),
                validate: true,
            })),
            RelocKind::FieldByteSize => Ok(v(size, true)),
            _ => Err(format!("a {kind} relocation cannot apply to an array element access")),
        };
    };
    let holder = btf.type_by_id(acc.type_id).map_err(|e| e.to_string())?;
    let member = holder.members().get(acc.index as usize).ok_or("member index out of range")?;
    let field_type = btf.resolve(member.ty).map_err(|e| e.to_string())?;
    let ft = btf.type_by_id(field_type).map_err(|e| e.to_string())?;
    let bit_off = spec.bit_offset;
    // Bitfield width: in the member when the struct's kind flag says so, else in an INT's bits.
    let mut bit_size = u64::from(member.bitfield_size());
    if bit_size == 0 {
        if let TypeDetails::Int(i) = ft.details() {
            if u64::from(i.bits()) != u64::from(ft.size().unwrap_or(0)) * 8 {
                bit_size = u64::from(i.bits());
            }
        }
    }
    let bitfield = bit_size > 0;
    let (byte_off, byte_size) = if bitfield {
        // The smallest aligned load (of at least the field type's size) that covers the bits.
        let mut size = u64::from(ft.size().unwrap_or(1)).max(1);
        let mut off = bit_off / 8 / size * size;
        while bit_off.saturating_add(bit_size) - off * 8 > size * 8 {
            if size >= 8 {
                return Err(format!("bitfield of {bit_size} bits at bit {bit_off} cannot be read with a 64-bit load"));
            }
            size *= 2;
            off = bit_off / 8 / size * size;
        }
        (off, size)
    } else {
        let size = size_of(member.ty)?;
        bit_size = size.saturating_mul(8);
        (bit_off / 8, size)
    };
    let signed = match ft.details() {
        TypeDetails::Int(i) => i.encoding().is_signed(),
        _ => matches!(ft.kind(), Kind::Enum | Kind::Enum64) && ft.kind_flag(),
    };
    Ok(match kind {
        RelocKind::FieldByteOffset => Calc::Value(Value {
            value: byte_off,
            field_size: (!bitfield).then(|| (u32::try_from(byte_size).unwrap_or(u32::MAX), member.ty)),
            validate: !bitfield,
        }),
        RelocKind::FieldByteSize => v(byte_size, !bitfield),
        RelocKind::FieldSigned => v(signed as u64, true),
        // Little-endian layout: the field's top bit goes to bit 63, then down to bit 0.
        RelocKind::FieldLshiftU64 => v(64u64.wrapping_sub(bit_off.saturating_add(bit_size) - byte_off * 8), !bitfield),
        RelocKind::FieldRshiftU64 => v(64u64.wrapping_sub(bit_size), true),
        _ => return Err(format!("{kind} is not a field relocation")),
    })
}
