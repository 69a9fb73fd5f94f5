//! Runs one of the project's sched_ext schedulers from Rust: `fifo` (bpf/scx_fifo.bpf.c, one
//! global FIFO queue) or `vtime` (bpf/scx_vtime.bpf.c, weighted virtual time). Loads it with the
//! kernel's enum values filled in, registers it, prints its stats once a second, and unregisters
//! it after `SECONDS` (default 5) or when the kernel ends it; prints the exit info the way the
//! scx tools do and exits non-zero if the kernel aborted the scheduler (`--bad-dsq` makes the
//! FIFO scheduler read a queue that does not exist, which the kernel aborts).
//!
//! Ctrl-C (or SIGTERM) ends it early, unregistering the scheduler first. The objects are read
//! from `bpf/` of this checkout, or from `$SCX_OBJECT_DIR`.
//!
//! ```text
//! scx_run [fifo|vtime] [SECONDS] [--bad-dsq]    (as root, on a kernel with sched_ext)
//! ```

use std::process::ExitCode;
use std::time::Duration;

use bpfkit::sched_ext::{self, Scheduler};

fn run() -> Result<bool, bpfkit::Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seconds: u64 = args.iter().find_map(|a| a.parse().ok()).unwrap_or(5);
    let which = if args.iter().any(|a| a == "vtime") { "vtime" } else { "fifo" };
    let dir = std::env::var("SCX_OBJECT_DIR").unwrap_or_else(|_| format!("{}/../../bpf", env!("CARGO_MANIFEST_DIR")));
    let path = format!("{dir}/scx_{which}.bpf.o");
    // Ctrl-C (or SIGTERM) ends the run early, after unregistering the scheduler.
    let interrupts =
        bpfkit::sys::signals::Interrupts::new().map_err(|e| bpfkit::Error::Sys { op: "signalfd".into(), source: e })?;
    let mut open = bpfkit::OpenObject::open(path)?;
    let filled = sched_ext::init_enums(&mut open)?;
    if args.iter().any(|a| a == "--bad-dsq") {
        open.set_global_as("bad_dsq", &0xbad0_0000u64)?;
    }
    let sched = Scheduler::attach(open.load()?)?;
    println!(
        "{} enum values from kernel BTF; state {}, ops {:?}",
        filled,
        sched_ext::state()?,
        sched_ext::current_ops()
    );
    let stat = |name: &str| sched.object().global_as::<u64>(name).unwrap_or(0);
    for second in 1..=seconds {
        if let Some(info) = sched.wait(Duration::from_millis(200))? {
            println!("{info}");
            return Ok(info.is_clean());
        }
        if interrupts.wait(800).map_err(|e| bpfkit::Error::Sys { op: "wait for signals".into(), source: e })? {
            println!("interrupted");
            break;
        }
        println!("{second:>3}s  enqueued {:>8}  dispatched {:>8}", stat("enqueued"), stat("dispatched"));
    }
    let info = sched.detach()?;
    println!("{info}");
    Ok(info.is_clean())
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("scx_run: {e}");
            ExitCode::FAILURE
        }
    }
}
