//! A child of the benchmark's (j) that links bpfkit and nothing else, so that its peak RSS is
//! what an application loading with bpfkit pays (the benchmark's own binary carries libbpf and
//! aya-obj too, whose pages the kernel maps around the ones bpfkit runs).
//!
//! `bench-load-bpfkit open|load OBJECT ROUNDS PIN_ROOT`: reads OBJECT, then ROUNDS times opens
//! (and with `load`, loads) and closes it; prints `peak <VmHWM>` and the anonymous and
//! file-backed shares of what stays resident.

use std::path::Path;

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [mode, object, rounds, pin_root] = &args[..] else {
        eprintln!("usage: bench-load-bpfkit open|load OBJECT ROUNDS PIN_ROOT");
        return std::process::ExitCode::FAILURE;
    };
    let result = (|| -> Result<(), String> {
        let rounds: usize = rounds.parse().map_err(|_| "ROUNDS must be a number".to_string())?;
        let bytes = std::fs::read(object).map_err(|e| format!("{object}: {e}"))?;
        let name = Path::new(object)
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".bpf.o"))
            .unwrap_or("obj");
        for _ in 0..rounds {
            let mut open = bpfkit::OpenObject::from_bytes(name, &bytes).map_err(|e| e.to_string())?;
            if mode == "load" {
                open.set_pin_root(pin_root);
                open.load().map(drop).map_err(|e| e.to_string())?;
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
            eprintln!("bench-load-bpfkit: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
