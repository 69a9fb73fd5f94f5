//! The guest side of a VM test binary: a list of named test functions run in order inside the
//! VM, each reported on the console, with the process exit code saying whether all passed.

use std::process::ExitCode;

use crate::vm::IN_VM_ENV;

/// One test that runs inside the guest. It prints what it observed and returns why it failed.
#[derive(Debug, Clone, Copy)]
pub struct GuestTest {
    /// Its name (what `--only NAME` selects).
    pub name: &'static str,
    /// The test.
    pub run: fn() -> Result<(), String>,
}

/// Whether this process is the guest side (started by the VM's `/init`).
pub fn in_vm() -> bool {
    std::env::var_os(IN_VM_ENV).is_some_and(|v| v == "1")
}

/// Runs the `tests` selected by `args` (`--only NAME`, repeatable; default: every test not
/// named in `opt_in`) and returns the exit code the host turns into the result.
pub fn run(tests: &[GuestTest], opt_in: &[&str], args: &[String]) -> ExitCode {
    let mut only = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match (arg.as_str(), it.next()) {
            ("--only", Some(name)) => only.push(name.as_str()),
            (other, _) => {
                println!("guest: unknown argument {other}");
                return ExitCode::from(2);
            }
        }
    }
    let selected: Vec<&GuestTest> = tests
        .iter()
        .filter(|t| if only.is_empty() { !opt_in.contains(&t.name) } else { only.contains(&t.name) })
        .collect();
    if selected.len() < only.len() {
        println!("guest: --only names a test that does not exist ({only:?})");
        return ExitCode::from(2);
    }
    let mut failed = 0;
    for test in &selected {
        println!("guest: --- {} ---", test.name);
        match (test.run)() {
            Ok(()) => println!("guest: {} ... ok", test.name),
            Err(why) => {
                failed += 1;
                println!("guest: {} ... FAILED: {why}", test.name);
            }
        }
    }
    println!("guest: {} passed, {failed} failed", selected.len() - failed);
    if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
