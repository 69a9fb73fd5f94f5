//! Parse a BTF file (default: the running kernel's) and look a struct up by name.
//!
//! `cargo run --release -p bpfkit-btf --example lookup -- [PATH] [STRUCT]`

use std::time::Instant;

use bpfkit_btf::{Btf, Kind};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| "/sys/kernel/btf/vmlinux".into());
    let name = args.next().unwrap_or_else(|| "task_struct".into());
    let start = Instant::now();
    let btf = Btf::open(&path, None)?;
    let parsed = start.elapsed();
    let Some(id) = btf.find_by_name_kind(&name, Kind::Struct) else {
        return Err(format!("no struct {name} in {path}").into());
    };
    let looked_up = start.elapsed();
    let ty = btf.type_by_id(id)?;
    println!(
        "{path}: {} types, sorted by name: {}; parse {parsed:?}, first lookup {:?}",
        btf.type_count(),
        btf.is_sorted_by_name(),
        looked_up - parsed
    );
    println!("struct {name} [{id}]: {} bytes, {} members", btf.size_of(id)?, ty.members().len());
    for m in ty.members().take(5) {
        println!("  {} at bit {}", btf.str_at(m.name_off)?, m.bit_offset());
    }
    Ok(())
}
