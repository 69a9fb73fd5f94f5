//! A child of the benchmark's (j) that links libbpf and nothing else (see
//! `bench-load-bpfkit.rs`): `bench-load-libbpf open|load OBJECT ROUNDS PIN_ROOT`.

#![allow(dead_code)] // The shared FFI module has more than this child uses.

#[path = "../libbpf.rs"]
mod libbpf;
#[path = "../load_child.rs"]
mod load_child;

use std::ffi::CString;

fn main() -> std::process::ExitCode {
    libbpf::silence();
    load_child::main(
        "bench-load-libbpf",
        |name, pin_root| {
            let c = |s: &str| CString::new(s).map_err(|e| e.to_string());
            Ok((c(name)?, c(pin_root)?))
        },
        |(name, pins), load, bytes| {
            if load {
                drop(libbpf::LibbpfObject::open_and_load(bytes, name, pins)?);
            } else {
                drop(libbpf::LibbpfObject::open_mem(bytes, name)?);
            }
            Ok(())
        },
    )
}
