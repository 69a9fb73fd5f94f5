//! `bpfkit btf dump`: types in bpftool's raw text format, or as JSON.

use std::io::{self, Write};

use bpfkit_btf::{Btf, BtfError, Result as BtfResult, Type, TypeDetails, TypeId, linkage};

/// Which types to print.
pub enum Selection {
    /// Every own type (for split BTF, not the base's).
    All,
    /// These ids.
    Ids(Vec<TypeId>),
}

impl Selection {
    /// `--id` wins over `--name`; neither means all own types.
    pub fn new(btf: &Btf, id: Option<TypeId>, name: Option<&str>) -> BtfResult<Selection> {
        match (id, name) {
            (Some(id), _) => {
                btf.type_by_id(id)?;
                Ok(Selection::Ids(vec![id]))
            }
            (None, Some(name)) => Ok(Selection::Ids(btf.find_all_by_name(name))),
            (None, None) => Ok(Selection::All),
        }
    }
}

/// Output format.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

/// Prints the selected types.
pub fn print(btf: &Btf, selection: &Selection, format: Format, out: &mut impl Write) -> io::Result<()> {
    let ids: Box<dyn Iterator<Item = TypeId>> = match selection {
        Selection::All => Box::new(btf.first_id()..btf.type_count()),
        Selection::Ids(ids) => Box::new(ids.iter().copied()),
    };
    if format == Format::Json {
        out.write_all(b"[")?;
    }
    for (n, id) in ids.enumerate() {
        let ty = btf.type_by_id(id).map_err(io::Error::other)?;
        match format {
            Format::Text => text(btf, &ty, out)?,
            Format::Json => {
                if n > 0 {
                    out.write_all(b",")?;
                }
                out.write_all(b"\n")?;
                json(btf, &ty, out)?;
            }
        }
    }
    if format == Format::Json {
        out.write_all(b"\n]\n")?;
    }
    Ok(())
}

/// A name for display; `(anon)` for the empty string, an error marker for corrupt offsets.
fn name(btf: &Btf, off: u32) -> std::borrow::Cow<'_, str> {
    match btf.str_bytes_at(off) {
        Ok(b"") => "(anon)".into(),
        Ok(bytes) => String::from_utf8_lossy(bytes),
        Err(BtfError::StringOutOfRange { .. }) | Err(_) => "(bad name)".into(),
    }
}

fn linkage_name(l: u32) -> &'static str {
    match l {
        linkage::STATIC => "static",
        linkage::GLOBAL => "global",
        linkage::EXTERN => "extern",
        _ => "unknown",
    }
}

fn int_encoding(enc: bpfkit_btf::IntEncoding) -> &'static str {
    if enc.is_bool() {
        "BOOL"
    } else if enc.is_char() {
        "CHAR"
    } else if enc.is_signed() {
        "SIGNED"
    } else {
        "(none)"
    }
}

fn text(btf: &Btf, ty: &Type<'_>, out: &mut impl Write) -> io::Result<()> {
    let (id, kind) = (ty.id(), ty.kind());
    write!(out, "[{id}] {kind} '{}'", name(btf, ty.name_offset()))?;
    let size = ty.size_or_type();
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
            writeln!(out, " size={size} vlen={}", ty.vlen())?;
            for m in members {
                write!(out, "\t'{}' type_id={} bits_offset={}", name(btf, m.name_off), m.ty, m.bit_offset())?;
                if m.bitfield_size() != 0 {
                    write!(out, " bitfield_size={}", m.bitfield_size())?;
                }
                writeln!(out)?;
            }
            Ok(())
        }
        TypeDetails::Enum(values) => {
            let enc = if ty.kind_flag() { "SIGNED" } else { "UNSIGNED" };
            writeln!(out, " encoding={enc} size={size} vlen={}", ty.vlen())?;
            for v in values {
                writeln!(out, "\t'{}' val={}", name(btf, v.name_off), v.value())?;
            }
            Ok(())
        }
        TypeDetails::Enum64(values) => {
            let signed = ty.kind_flag();
            writeln!(out, " encoding={} size={size} vlen={}", if signed { "SIGNED" } else { "UNSIGNED" }, ty.vlen())?;
            for v in values {
                if signed {
                    writeln!(out, "\t'{}' val={}", name(btf, v.name_off), v.value())?;
                } else {
                    writeln!(out, "\t'{}' val={}", name(btf, v.name_off), v.raw_value())?;
                }
            }
            Ok(())
        }
        TypeDetails::Fwd { is_union } => {
            writeln!(out, " fwd_kind={}", if is_union { "union" } else { "struct" })
        }
        TypeDetails::Func { proto, linkage } => {
            writeln!(out, " type_id={proto} linkage={}", linkage_name(linkage))
        }
        TypeDetails::FuncProto { ret, params } => {
            writeln!(out, " ret_type_id={ret} vlen={}", ty.vlen())?;
            for p in params {
                writeln!(out, "\t'{}' type_id={}", name(btf, p.name_off), p.ty)?;
            }
            Ok(())
        }
        TypeDetails::Var { ty: t, linkage } => {
            writeln!(out, " type_id={t}, linkage={}", linkage_name(linkage))
        }
        TypeDetails::Datasec(vars) => {
            writeln!(out, " size={size} vlen={}", ty.vlen())?;
            for v in vars {
                writeln!(out, "\ttype_id={} offset={} size={}", v.ty, v.offset, v.size)?;
            }
            Ok(())
        }
        TypeDetails::Float => writeln!(out, " size={size}"),
        TypeDetails::DeclTag { ty: t, component_idx } => {
            writeln!(out, " type_id={t} component_idx={component_idx}")
        }
        TypeDetails::Unknown { payload, .. } => {
            writeln!(out, " vlen={} payload={} bytes", ty.vlen(), payload.len())
        }
    }
}

/// Writes `s` as a JSON string literal.
fn json_str(out: &mut impl Write, s: &str) -> io::Result<()> {
    out.write_all(b"\"")?;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let escape = match c {
            '"' => Some("\\\"".to_string()),
            '\\' => Some("\\\\".to_string()),
            c if (c as u32) < 0x20 => Some(format!("\\u{:04x}", c as u32)),
            _ => None,
        };
        if let Some(e) = escape {
            out.write_all(&s.as_bytes()[start..i])?;
            out.write_all(e.as_bytes())?;
            start = i + c.len_utf8();
        }
    }
    out.write_all(&s.as_bytes()[start..])?;
    out.write_all(b"\"")
}

fn json_name(btf: &Btf, off: u32) -> String {
    btf.str_bytes_at(off).map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default()
}

fn json(btf: &Btf, ty: &Type<'_>, out: &mut impl Write) -> io::Result<()> {
    write!(out, "{{\"id\":{},\"kind\":", ty.id())?;
    json_str(out, &ty.kind().to_string())?;
    out.write_all(b",\"name\":")?;
    json_str(out, &json_name(btf, ty.name_offset()))?;
    if let Some(size) = ty.size() {
        write!(out, ",\"size\":{size}")?;
    }
    match ty.details() {
        TypeDetails::Int(i) => write!(
            out,
            ",\"bits_offset\":{},\"nr_bits\":{},\"encoding\":\"{}\"",
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
            out.write_all(b",\"members\":[")?;
            for (i, m) in members.enumerate() {
                out.write_all(if i > 0 { b",{\"name\":" } else { b"{\"name\":" })?;
                json_str(out, &json_name(btf, m.name_off))?;
                write!(
                    out,
                    ",\"type_id\":{},\"bits_offset\":{},\"bitfield_size\":{}}}",
                    m.ty,
                    m.bit_offset(),
                    m.bitfield_size()
                )?;
            }
            out.write_all(b"]")?;
        }
        TypeDetails::Enum(values) => {
            write!(out, ",\"signed\":{},\"values\":[", ty.kind_flag())?;
            for (i, v) in values.enumerate() {
                out.write_all(if i > 0 { b",{\"name\":" } else { b"{\"name\":" })?;
                json_str(out, &json_name(btf, v.name_off))?;
                write!(out, ",\"val\":{}}}", v.value())?;
            }
            out.write_all(b"]")?;
        }
        TypeDetails::Enum64(values) => {
            write!(out, ",\"signed\":{},\"values\":[", ty.kind_flag())?;
            for (i, v) in values.enumerate() {
                out.write_all(if i > 0 { b",{\"name\":" } else { b"{\"name\":" })?;
                json_str(out, &json_name(btf, v.name_off))?;
                if ty.kind_flag() {
                    write!(out, ",\"val\":{}}}", v.value())?;
                } else {
                    write!(out, ",\"val\":{}}}", v.raw_value())?;
                }
            }
            out.write_all(b"]")?;
        }
        TypeDetails::Fwd { is_union } => {
            write!(out, ",\"fwd_kind\":\"{}\"", if is_union { "union" } else { "struct" })?
        }
        TypeDetails::Func { proto, linkage } => {
            write!(out, ",\"type_id\":{proto},\"linkage\":\"{}\"", linkage_name(linkage))?
        }
        TypeDetails::FuncProto { ret, params } => {
            write!(out, ",\"ret_type_id\":{ret},\"params\":[")?;
            for (i, p) in params.enumerate() {
                out.write_all(if i > 0 { b",{\"name\":" } else { b"{\"name\":" })?;
                json_str(out, &json_name(btf, p.name_off))?;
                write!(out, ",\"type_id\":{}}}", p.ty)?;
            }
            out.write_all(b"]")?;
        }
        TypeDetails::Var { ty: t, linkage } => {
            write!(out, ",\"type_id\":{t},\"linkage\":\"{}\"", linkage_name(linkage))?
        }
        TypeDetails::Datasec(vars) => {
            out.write_all(b",\"vars\":[")?;
            for (i, v) in vars.enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                write!(out, "{{\"type_id\":{},\"offset\":{},\"size\":{}}}", v.ty, v.offset, v.size)?;
            }
            out.write_all(b"]")?;
        }
        TypeDetails::Float => {}
        TypeDetails::DeclTag { ty: t, component_idx } => {
            write!(out, ",\"type_id\":{t},\"component_idx\":{component_idx}")?
        }
        TypeDetails::Unknown { kind, payload } => {
            write!(out, ",\"raw_kind\":{kind},\"vlen\":{},\"payload_bytes\":{}", ty.vlen(), payload.len())?
        }
    }
    out.write_all(b"}")
}
