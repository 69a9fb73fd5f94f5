//! The `minimal` fixture from Rust: count this process's `getpid()` calls with a tracepoint
//! program, read the counters from `.bss` and from an array map, detach, and show that counting
//! stopped.
//!
//! ```text
//! cargo run -p bpfkit --example count_getpid    (as root, with tracefs mounted)
//! ```

fn main() -> Result<(), bpfkit::Error> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../bpf/minimal.bpf.o");
    let mut open = bpfkit::OpenObject::open(path)?;
    open.set_global_as("target_tgid", &std::process::id())?;
    let obj = open.load()?;
    let link = obj.program("count_getpid")?.attach()?;
    for _ in 0..3 {
        // SAFETY: getpid has no preconditions.
        unsafe { libc::syscall(libc::SYS_getpid) };
    }
    let hits: u64 = obj.global_as("hits")?;
    let counted: Option<u64> = obj.map("counts")?.lookup_as(&0u32)?;
    println!("3 getpid() calls: hits (.bss) = {hits}, counts[0] (array map) = {counted:?}");
    drop(link);
    // SAFETY: as above.
    unsafe { libc::syscall(libc::SYS_getpid) };
    println!("after detaching, one more getpid(): hits = {}", obj.global_as::<u64>("hits")?);
    Ok(())
}
