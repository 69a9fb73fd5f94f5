//! Project tasks, run as `cargo xtask <task>` (alias in `.cargo/config.toml`):
//!
//! - `build-bpf [--check] [--vmlinux-h]`: compile `bpf/*.bpf.c` with Debian sid's clang-19 in the
//!   sid chroot and commit the objects; `--check` fails when a committed object and its source
//!   disagree; `--vmlinux-h` first regenerates `bpf/include/vmlinux.h` from the sid kernel.
//! - `vm [ARGS...]`: boot the Debian sid kernel under QEMU and run the VM tests in it (the same
//!   run `cargo test` does from `crates/bpfkit-testkit/tests/vm.rs`).
//! - `chroot`: create or complete the sid chroot and print its path.
//!
//! Everything downloaded or built is cached under `$BPFKIT_CACHE` (default `~/.cache/bpfkit`).

mod build_bpf;

use std::process::{Command, ExitCode};

use bpfkit_testkit::chroot::SidRoot;
use bpfkit_testkit::kernel::SidKernel;
use bpfkit_testkit::{Error, cache, command};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "bpfkit project tasks")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Build the BPF fixtures in bpf/ (or, with --check, verify the committed objects).
    BuildBpf {
        /// Rebuild into a scratch directory and compare with the committed objects.
        #[arg(long)]
        check: bool,
        /// First regenerate bpf/include/vmlinux.h from the cached Debian sid kernel's BTF.
        #[arg(long)]
        vmlinux_h: bool,
    },
    /// Run the VM tests (arguments go to the guest test binary, e.g. `--only NAME`).
    Vm {
        /// Arguments for the VM test binary.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Create or complete the sid chroot and print its path.
    Chroot,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.task {
        Task::BuildBpf { check, vmlinux_h } => sid_root().and_then(|root| {
            let mode = if check { build_bpf::Mode::Check } else { build_bpf::Mode::Build };
            build_bpf::run(&root, &cache::repo_root(), mode, vmlinux_h).map_err(|why| format!("build-bpf: {why}"))
        }),
        Task::Vm { args } => run_vm_tests(&args),
        Task::Chroot => sid_root().map(|root| println!("{}", root.path().display())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("xtask: {why}");
            ExitCode::FAILURE
        }
    }
}

/// The sid chroot, with the headers of the cached (or newest) sid kernel.
fn sid_root() -> Result<SidRoot, String> {
    let kernel = SidKernel::fetch().map_err(|e: Error| e.to_string())?;
    SidRoot::ensure(kernel.version()).map_err(|e| e.to_string())
}

/// `cargo test --test vm -- ARGS`: the VM test binary boots the VM itself.
fn run_vm_tests(args: &[String]) -> Result<(), String> {
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo.current_dir(cache::repo_root()).args(["test", "-p", "bpfkit-testkit", "--test", "vm", "--"]).args(args);
    let status = cargo.status().map_err(|e| format!("cannot run {}: {e}", command::describe(&cargo)))?;
    if status.success() { Ok(()) } else { Err(format!("VM tests failed ({status})")) }
}
