//! One type in bpftool's raw text format: a `[id] KIND 'name' ...` line, then one tab-indented
//! line per member, enumerator, parameter or section variable.

use std::io::{self, Write};

use bpfkit_btf::{Btf, Type, TypeDetails};

use super::labels::{display_name, enum_encoding, fwd_kind, int_encoding, linkage};

/// Writes `'name'` (names are bytes: written as stored, not re-encoded).
fn quoted(out: &mut impl Write, btf: &Btf, off: u32) -> io::Result<()> {
    out.write_all(b"'")?;
    out.write_all(display_name(btf, off))?;
    out.write_all(b"'")
}

/// Writes `ty` and its elements, each line ending in `\n`. `btf` is the blob the type was looked
/// up in (for split BTF, names may live in the base's strings).
pub fn write_type(out: &mut impl Write, btf: &Btf, ty: &Type<'_>) -> io::Result<()> {
    write!(out, "[{}] {} ", ty.id(), ty.kind())?;
    quoted(out, btf, ty.name_offset())?;
    let size = ty.size_or_type();
    let vlen = ty.vlen();
    match ty.details() {
        TypeDetails::Int(i) => writeln!(
            out,
            " size={size} bits_offset={} nr_bits={} encoding={}",
            i.offset(),
            i.bits(),
            int_encoding(i.encoding())
        ),
        TypeDetails::Ptr(t)
        | TypeDetails::Typedef(t)
        | TypeDetails::Volatile(t)
        | TypeDetails::Const(t)
        | TypeDetails::Restrict(t)
        | TypeDetails::TypeTag(t) => writeln!(out, " type_id={t}"),
        TypeDetails::Array(a) => {
            writeln!(out, " type_id={} index_type_id={} nr_elems={}", a.elem_type, a.index_type, a.nelems)
        }
        TypeDetails::Struct(members) | TypeDetails::Union(members) => {
            writeln!(out, " size={size} vlen={vlen}")?;
            for m in members {
                out.write_all(b"\t")?;
                quoted(out, btf, m.name_off)?;
                write!(out, " type_id={} bits_offset={}", m.ty, m.bit_offset())?;
                match m.bitfield_size() {
                    0 => writeln!(out)?,
                    bits => writeln!(out, " bitfield_size={bits}")?,
                }
            }
            Ok(())
        }
        TypeDetails::Enum(values) => {
            writeln!(out, " encoding={} size={size} vlen={vlen}", enum_encoding(ty.kind_flag()))?;
            for v in values {
                out.write_all(b"\t")?;
                quoted(out, btf, v.name_off)?;
                writeln!(out, " val={}", v.value())?;
            }
            Ok(())
        }
        TypeDetails::Enum64(values) => {
            let signed = ty.kind_flag();
            writeln!(out, " encoding={} size={size} vlen={vlen}", enum_encoding(signed))?;
            for v in values {
                out.write_all(b"\t")?;
                quoted(out, btf, v.name_off)?;
                if signed {
                    writeln!(out, " val={}", v.value())?;
                } else {
                    writeln!(out, " val={}", v.raw_value())?;
                }
            }
            Ok(())
        }
        TypeDetails::Fwd { is_union } => writeln!(out, " fwd_kind={}", fwd_kind(is_union)),
        TypeDetails::Func { proto, linkage: l } => writeln!(out, " type_id={proto} linkage={}", linkage(l)),
        TypeDetails::FuncProto { ret, params } => {
            writeln!(out, " ret_type_id={ret} vlen={vlen}")?;
            for p in params {
                out.write_all(b"\t")?;
                quoted(out, btf, p.name_off)?;
                writeln!(out, " type_id={}", p.ty)?;
            }
            Ok(())
        }
        // The comma is bpftool's.
        TypeDetails::Var { ty: t, linkage: l } => writeln!(out, " type_id={t}, linkage={}", linkage(l)),
        TypeDetails::Datasec(vars) => {
            writeln!(out, " size={size} vlen={vlen}")?;
            for v in vars {
                writeln!(out, "\ttype_id={} offset={} size={}", v.ty, v.offset, v.size)?;
            }
            Ok(())
        }
        TypeDetails::Float => writeln!(out, " size={size}"),
        TypeDetails::DeclTag { ty: t, component_idx } => writeln!(out, " type_id={t} component_idx={component_idx}"),
        TypeDetails::Unknown { payload, .. } => writeln!(out, " vlen={vlen} payload={} bytes", payload.len()),
    }
}
