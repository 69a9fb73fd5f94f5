//! `bpfkit btf inspect`: a summary of one BTF blob, as `label: value` lines in one column.

use std::fmt::Display;
use std::io::{self, Write};

use bpfkit_btf::{Endian, Kind};

use super::source::{Container, Loaded};

/// Width of `label:` plus padding, so that values line up.
const LABEL_WIDTH: usize = 17;

/// Writes `label:` padded to the value column, then `value`.
fn field(out: &mut impl Write, label: &str, value: impl Display) -> io::Result<()> {
    let pad = LABEL_WIDTH.saturating_sub(label.len() + 1);
    writeln!(out, "{label}:{:pad$}{value}", "")
}

/// Prints the summary.
pub fn print(loaded: &Loaded, out: &mut impl Write) -> io::Result<()> {
    let btf = &loaded.btf;
    field(out, "file", loaded.path.display())?;
    match loaded.container {
        Container::Raw => field(out, "container", "raw BTF")?,
        Container::Elf => field(out, "container", format_args!("ELF ({} bytes), .BTF section", loaded.file_len))?,
        Container::Compressed(c) => {
            field(out, "container", format_args!("{c:?}-compressed ELF ({} bytes), .BTF section", loaded.file_len))?
        }
    }
    if let Some(n) = loaded.distilled_types {
        let how = if loaded.base_path.is_some() { "relocated onto the base below" } else { "not relocated" };
        field(out, "distilled base", format_args!(".BTF.base, {n} types ({how})"))?;
    }
    field(out, "BTF size", format_args!("{} bytes", btf.raw_bytes().len()))?;
    let endian = match btf.endian() {
        Endian::Little => "little-endian",
        Endian::Big => "big-endian",
    };
    field(out, "byte order", endian)?;
    field(out, "header length", format_args!("{} bytes", btf.header().hdr_len))?;
    let last_id = btf.type_count().saturating_sub(1);
    match &loaded.base_path {
        Some(base) => {
            field(out, "split on", base.display())?;
            field(out, "first type id", btf.first_id())?;
            field(out, "first string", btf.first_string_offset())?;
            field(out, "own types", btf.own_type_count())?;
            field(out, "total types", format_args!("{last_id} (ids 1..={last_id}, base included)"))?;
        }
        None if loaded.distilled_types.is_some() => {
            field(out, "split on", "its distilled base (.BTF.base)")?;
            field(out, "first type id", btf.first_id())?;
            field(out, "own types", btf.own_type_count())?;
        }
        None => {
            field(out, "split on", "- (base BTF)")?;
            field(out, "own types", btf.own_type_count())?;
            field(out, "total types", format_args!("{last_id} (ids 1..={last_id})"))?;
        }
    }
    // Counted by raw kind number: kind order, and kinds newer than bpfkit-btf included.
    let mut counts = [0usize; 128];
    for ty in btf.types() {
        if let Some(count) = counts.get_mut(ty.info().kind as usize) {
            *count += 1;
        }
    }
    writeln!(out, "types by kind:")?;
    for (raw, &count) in counts.iter().enumerate().filter(|&(_, &count)| count > 0) {
        if let Some(kind) = u8::try_from(raw).ok().and_then(Kind::from_raw) {
            writeln!(out, "  {:<14}{count:>8}", kind.to_string())?;
        }
    }
    field(out, "string bytes", btf.own_strings().len())?;
    field(out, "sorted by name", if btf.is_sorted_by_name() { "yes" } else { "no" })?;
    match btf.layout() {
        Some(layout) => field(out, "layout section", format_args!("yes ({} kinds described)", layout.len()))?,
        None => field(out, "layout section", "no")?,
    }
    Ok(())
}
