//! `bpfkit btf inspect`: a summary of one BTF blob.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};

use bpfkit_btf::{Endian, Kind, elf};

use super::source::Loaded;

/// Prints the summary.
pub fn print(loaded: &Loaded, out: &mut impl Write) -> io::Result<()> {
    let btf = &loaded.btf;
    let header = btf.header();
    let mut by_kind: BTreeMap<Kind, usize> = BTreeMap::new();
    for ty in btf.types() {
        *by_kind.entry(ty.kind()).or_default() += 1;
    }
    let mut magic = [0u8; 4];
    let is_elf =
        std::fs::File::open(&loaded.path).and_then(|mut f| f.read_exact(&mut magic)).is_ok() && elf::is_elf(&magic);
    let container = if is_elf { "ELF .BTF section" } else { "raw BTF" };
    writeln!(out, "file:            {}", loaded.path.display())?;
    writeln!(out, "format:          {container}, {} bytes", btf.raw_bytes().len())?;
    let endian = match btf.endian() {
        Endian::Little => "little",
        Endian::Big => "big",
    };
    writeln!(out, "byte order:      {endian}-endian")?;
    writeln!(out, "header length:   {}", header.hdr_len)?;
    match &loaded.base_path {
        Some(base) => {
            writeln!(out, "split on:        {}", base.display())?;
            writeln!(out, "first type id:   {}", btf.first_id())?;
            writeln!(out, "first string:    {}", btf.first_string_offset())?;
        }
        None => writeln!(out, "split on:        - (base BTF)")?,
    }
    writeln!(out, "types:           {} own, ids up to {}", btf.own_type_count(), btf.type_count().saturating_sub(1))?;
    for (kind, count) in &by_kind {
        writeln!(out, "  {:<13}{count:>8}", kind.to_string())?;
    }
    writeln!(out, "string bytes:    {}", btf.own_strings().len())?;
    let sorted = if btf.is_sorted_by_name() { "yes (binary search, no index)" } else { "no (hash index per kind)" };
    writeln!(out, "sorted by name:  {sorted}")?;
    let layout = match btf.layout() {
        Some(l) => format!("yes, {} kinds described", l.len()),
        None => "no".to_string(),
    };
    writeln!(out, "layout section:  {layout}")?;
    Ok(())
}
