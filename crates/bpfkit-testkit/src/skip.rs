//! Skipping tests that cannot run here (not root, no BPF, no QEMU), always with a printed reason.
//! With `BPFKIT_NO_SKIP=1` (set by `.ci/run`) a skip is a failure instead, so CI cannot pass
//! by silently running nothing.

/// Whether skips are failures (`BPFKIT_NO_SKIP=1`).
pub fn skips_fail() -> bool {
    std::env::var_os("BPFKIT_NO_SKIP").is_some_and(|v| v == "1")
}

/// Reports that `test` cannot run because of `reason`: prints the reason and returns `Ok` for a
/// skip, or returns it as an error when skips are failures.
pub fn skip(test: &str, reason: &str) -> Result<(), String> {
    if skips_fail() {
        Err(format!("{test}: cannot run: {reason} (BPFKIT_NO_SKIP=1 makes this a failure)"))
    } else {
        println!("skipped {test}: {reason}");
        Ok(())
    }
}

/// Whether this process runs with effective uid 0 (read from `/proc/self/status` once: tests
/// that count this process's open files call this from other threads).
pub fn is_root() -> bool {
    static ROOT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ROOT.get_or_init(|| {
        std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1))
                .is_some_and(|euid| euid == "0")
        })
    })
}
