//! Records the versions of the comparison crates that Cargo resolved (from the workspace's
//! `Cargo.lock`), so that the benchmark can print what it compared against.

use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let lock = manifest.join("../Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock.display());
    let text = std::fs::read_to_string(&lock).unwrap_or_default();
    for (package, var) in [("libbpf-sys", "BENCH_LIBBPF_SYS_VERSION"), ("aya-obj", "BENCH_AYA_OBJ_VERSION")] {
        println!("cargo:rustc-env={var}={}", locked_versions(&text, package));
    }
}

/// Every version of `package` in a `Cargo.lock`, comma-separated ("unknown" if none).
fn locked_versions(lock: &str, package: &str) -> String {
    let mut versions = Vec::new();
    for block in lock.split("[[package]]") {
        let field = |key: &str| {
            block.lines().find_map(|l| {
                l.strip_prefix(key)?.trim().strip_prefix('=')?.trim().strip_prefix('"')?.strip_suffix('"')
            })
        };
        if field("name") == Some(package)
            && let Some(v) = field("version")
        {
            versions.push(v.to_string());
        }
    }
    if versions.is_empty() { "unknown".to_string() } else { versions.join(", ") }
}
