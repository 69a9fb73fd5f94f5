//! Prints what a libbpf-style BPF object defines, as bpfkit will load it: programs with their
//! type, attach target and linked size, maps with their definitions, and global variables.
//!
//! ```text
//! cargo run -p bpfkit-obj --example inspect_object -- bpf/maps.bpf.o
//! ```

use bpfkit_obj::{Object, RelocTarget};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: inspect_object FILE.bpf.o")?;
    let obj = Object::open(&path)?;
    println!("{}: license {:?}, {} programs, {} maps", obj.name, obj.license, obj.programs.len(), obj.maps.len());
    for (index, prog) in obj.programs.iter().enumerate() {
        let kind = match &prog.kind {
            Some(k) => format!(
                "{} attach {:?} target {:?}",
                k.prog_type,
                k.expected_attach_type.map(|a| a.to_string()),
                k.target
            ),
            None => "unknown section: set a type before loading".to_owned(),
        };
        let linked = obj.link(index)?;
        let functions: Vec<&str> = linked.functions.iter().map(|(_, n)| n.as_str()).collect();
        println!("program {} SEC(\"{}\"): {kind}", prog.name, prog.section);
        println!(
            "  {} instructions, functions {functions:?}, {} line records",
            linked.insns.len(),
            linked.line_info.len()
        );
        for reloc in &linked.relocs {
            let what = match &reloc.target {
                RelocTarget::Map { map } => format!("map {}", obj.maps[*map].name),
                RelocTarget::MapValue { map, offset } => format!("{} + {offset}", obj.maps[*map].name),
                RelocTarget::Extern { name, call, weak } => {
                    format!("extern {name}{}{}", if *call { " (call)" } else { "" }, if *weak { " (weak)" } else { "" })
                }
            };
            println!("  insn {:4}: {what}", reloc.insn);
        }
    }
    for map in &obj.maps {
        let d = &map.def;
        println!(
            "map {} ({}): {} key {} value {} max {} flags {:#x} {:?}",
            map.name, map.kernel_name, d.map_type, d.key_size, d.value_size, d.max_entries, d.map_flags, map.kind
        );
        for slot in &map.slots {
            println!("  slot {} = {}", slot.slot, slot.target);
        }
    }
    for var in obj.globals() {
        println!(
            "global {} in {} at {} ({} bytes): {:02x?}",
            var.name,
            obj.maps[var.map].name,
            var.offset,
            var.size,
            obj.global(&var.name)?
        );
    }
    Ok(())
}
