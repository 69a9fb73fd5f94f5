//! One type as a JSON object, written by hand (no serde): `id`, `kind`, `name` (`""` when
//! anonymous), then the kind's fields under bpftool's names, elements as arrays of objects.

use std::io::{self, Write};

use bpfkit_btf::{Btf, Type, TypeDetails};

use super::labels::{enum_encoding, fwd_kind, int_encoding, linkage};

/// Writes `s` as a JSON string literal: quotes, backslashes and control characters escaped.
pub fn string(out: &mut impl Write, s: &str) -> io::Result<()> {
    out.write_all(b"\"")?;
    let bytes = s.as_bytes();
    let mut start = 0;
    // Every byte that needs escaping is ASCII, so byte-wise scanning keeps UTF-8 sequences whole.
    for (i, &b) in bytes.iter().enumerate() {
        let short: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.write_all(&bytes[start..i])?;
        if short.is_empty() {
            write!(out, "\\u{b:04x}")?;
        } else {
            out.write_all(short)?;
        }
        start = i + 1;
    }
    out.write_all(&bytes[start..])?;
    out.write_all(b"\"")
}

/// Writes the string at `off` as a JSON string (`""` for anonymous; non-UTF-8 bytes replaced).
fn name(out: &mut impl Write, btf: &Btf, off: u32) -> io::Result<()> {
    let bytes = btf.str_bytes_at(off).unwrap_or_default();
    string(out, &String::from_utf8_lossy(bytes))
}

/// Writes `,"key":[` then one object per item (via `item`, which writes the fields inside the
/// braces) and `]`.
fn array<W: Write, T>(
    out: &mut W,
    key: &str,
    items: impl Iterator<Item = T>,
    mut item: impl FnMut(&mut W, T) -> io::Result<()>,
) -> io::Result<()> {
    write!(out, ",\"{key}\":[")?;
    for (i, t) in items.enumerate() {
        out.write_all(if i == 0 { b"{" } else { b",{" })?;
        item(out, t)?;
        out.write_all(b"}")?;
    }
    out.write_all(b"]")
}

/// Writes `ty` as one JSON object (no trailing newline). `btf` is the blob the type was looked
/// up in (for split BTF, names may live in the base's strings).
pub fn write_type(out: &mut impl Write, btf: &Btf, ty: &Type<'_>) -> io::Result<()> {
    write!(out, "{{\"id\":{},\"kind\":\"{}\",\"name\":", ty.id(), ty.kind())?;
    name(out, btf, ty.name_offset())?;
    let size = ty.size_or_type();
    match ty.details() {
        TypeDetails::Int(i) => write!(
            out,
            ",\"size\":{size},\"bits_offset\":{},\"nr_bits\":{},\"encoding\":\"{}\"",
            i.offset(),
            i.bits(),
            int_encoding(i.encoding())
        )?,
        TypeDetails::Ptr(t)
        | TypeDetails::Typedef(t)
        | TypeDetails::Volatile(t)
        | TypeDetails::Const(t)
        | TypeDetails::Restrict(t)
        | TypeDetails::TypeTag(t) => write!(out, ",\"type_id\":{t}")?,
        TypeDetails::Array(a) => {
            write!(out, ",\"type_id\":{},\"index_type_id\":{},\"nr_elems\":{}", a.elem_type, a.index_type, a.nelems)?
        }
        TypeDetails::Struct(members) | TypeDetails::Union(members) => {
            write!(out, ",\"size\":{size}")?;
            array(out, "members", members, |out, m| {
                out.write_all(b"\"name\":")?;
                name(out, btf, m.name_off)?;
                write!(out, ",\"type_id\":{},\"bits_offset\":{}", m.ty, m.bit_offset())?;
                write!(out, ",\"bitfield_size\":{}", m.bitfield_size())
            })?;
        }
        TypeDetails::Enum(values) => {
            write!(out, ",\"encoding\":\"{}\",\"size\":{size}", enum_encoding(ty.kind_flag()))?;
            array(out, "values", values, |out, v| {
                out.write_all(b"\"name\":")?;
                name(out, btf, v.name_off)?;
                write!(out, ",\"val\":{}", v.value())
            })?;
        }
        TypeDetails::Enum64(values) => {
            let signed = ty.kind_flag();
            write!(out, ",\"encoding\":\"{}\",\"size\":{size}", enum_encoding(signed))?;
            array(out, "values", values, |out, v| {
                out.write_all(b"\"name\":")?;
                name(out, btf, v.name_off)?;
                if signed { write!(out, ",\"val\":{}", v.value()) } else { write!(out, ",\"val\":{}", v.raw_value()) }
            })?;
        }
        TypeDetails::Fwd { is_union } => write!(out, ",\"fwd_kind\":\"{}\"", fwd_kind(is_union))?,
        TypeDetails::Func { proto, linkage: l } => write!(out, ",\"type_id\":{proto},\"linkage\":\"{}\"", linkage(l))?,
        TypeDetails::FuncProto { ret, params } => {
            write!(out, ",\"ret_type_id\":{ret}")?;
            array(out, "params", params, |out, p| {
                out.write_all(b"\"name\":")?;
                name(out, btf, p.name_off)?;
                write!(out, ",\"type_id\":{}", p.ty)
            })?;
        }
        TypeDetails::Var { ty: t, linkage: l } => write!(out, ",\"type_id\":{t},\"linkage\":\"{}\"", linkage(l))?,
        TypeDetails::Datasec(vars) => {
            write!(out, ",\"size\":{size}")?;
            array(out, "vars", vars, |out, v| {
                write!(out, "\"type_id\":{},\"offset\":{},\"size\":{}", v.ty, v.offset, v.size)
            })?;
        }
        TypeDetails::Float => write!(out, ",\"size\":{size}")?,
        TypeDetails::DeclTag { ty: t, component_idx } => {
            write!(out, ",\"type_id\":{t},\"component_idx\":{component_idx}")?
        }
        TypeDetails::Unknown { payload, .. } => {
            write!(out, ",\"vlen\":{},\"payload_bytes\":{}", ty.vlen(), payload.len())?
        }
    }
    out.write_all(b"}")
}

#[cfg(test)]
mod tests {
    use super::string;

    fn json(s: &str) -> String {
        let mut out = Vec::new();
        string(&mut out, s).expect("write to Vec");
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn strings_are_escaped() {
        assert_eq!(json("task_struct"), r#""task_struct""#);
        assert_eq!(json(""), r#""""#);
        assert_eq!(json(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(json("l1\nl2\tx\r"), r#""l1\nl2\tx\r""#);
        assert_eq!(json("\u{0}\u{1f}\u{7f}"), "\"\\u0000\\u001f\u{7f}\"");
        assert_eq!(json("ünï\"cødé"), "\"ünï\\\"cødé\"");
    }
}
