//! A child of the benchmark's (j) that links libbpf and nothing else (see
//! `bench-load-bpfkit.rs`): `bench-load-libbpf open|load OBJECT ROUNDS PIN_ROOT`.

#![allow(dead_code)] // The shared FFI module has more than this child uses.

#[path = "../libbpf.rs"]
mod libbpf;

use std::ffi::CString;
use std::path::Path;

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [mode, object, rounds, pin_root] = &args[..] else {
        eprintln!("usage: bench-load-libbpf open|load OBJECT ROUNDS PIN_ROOT");
        return std::process::ExitCode::FAILURE;
    };
    libbpf::silence();
    let result = (|| -> Result<(), String> {
        let rounds: usize = rounds.parse().map_err(|_| "ROUNDS must be a number".to_string())?;
        let bytes = std::fs::read(object).map_err(|e| format!("{object}: {e}"))?;
        let name = Path::new(object)
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".bpf.o"))
            .unwrap_or("obj");
        let name = CString::new(name).map_err(|e| e.to_string())?;
        let pins = CString::new(pin_root.as_bytes()).map_err(|e| e.to_string())?;
        for _ in 0..rounds {
            if mode == "load" {
                drop(libbpf::LibbpfObject::open_and_load(&bytes, &name, &pins)?);
            } else {
                drop(libbpf::LibbpfObject::open_mem(&bytes, &name)?);
            }
        }
        Ok(())
    })();
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| status.lines().find_map(|l| l.strip_prefix(name)).map(str::trim).unwrap_or("? kB");
    println!("peak {}", field("VmHWM:"));
    println!("now anon {} file {}", field("RssAnon:"), field("RssFile:"));
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-load-libbpf: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
