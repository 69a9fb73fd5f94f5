//! Loads every program and creates every map of a BPF object, like `bpftool prog loadall`, and
//! prints what the kernel accepted, or the verifier's reason.
//!
//! ```text
//! cargo run -p bpfkit --example load_object -- bpf/maps.bpf.o    (as root)
//! ```

use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: load_object OBJECT.bpf.o");
        return ExitCode::FAILURE;
    };
    let loaded = bpfkit::OpenObject::open(&path).and_then(|open| open.load());
    match loaded {
        Ok(obj) => {
            for p in obj.programs() {
                println!("program {:<24} {:<40} {}", p.name(), p.section(), p.program_type());
            }
            for m in obj.maps() {
                println!(
                    "map     {:<24} {:<16} key {} value {} entries {}",
                    m.name(),
                    m.map_type().to_string(),
                    m.key_size(),
                    m.value_size(),
                    m.max_entries()
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{path}: {e}");
            ExitCode::FAILURE
        }
    }
}
