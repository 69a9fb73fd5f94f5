//! A child of the benchmark's (j) that links bpfkit and nothing else, so that its peak RSS is
//! what an application loading with bpfkit pays (the benchmark's own binary carries libbpf and
//! aya-obj too, whose pages the kernel maps around the ones bpfkit runs).
//! `bench-load-bpfkit open|load OBJECT ROUNDS PIN_ROOT` (see `load_child.rs`).

#[path = "../load_child.rs"]
mod load_child;

fn main() -> std::process::ExitCode {
    load_child::main(
        "bench-load-bpfkit",
        |name, pin_root| Ok((name.to_owned(), pin_root.to_owned())),
        |(name, pin_root), load, bytes| {
            let mut open = bpfkit::OpenObject::from_bytes(name, bytes).map_err(|e| e.to_string())?;
            if load {
                open.set_pin_root(pin_root);
                open.load().map(drop).map_err(|e| e.to_string())?;
            }
            Ok(())
        },
    )
}
