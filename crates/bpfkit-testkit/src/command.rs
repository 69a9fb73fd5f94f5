//! Running the external programs the harness drives (apt-get, debootstrap, chroot, make, ldd),
//! with failures that carry the command line and the tail of its output.

use std::process::{Command, Output};

use crate::error::{Error, Result};

/// How many trailing lines of a failed command's output an error keeps.
const TAIL_LINES: usize = 40;

/// Runs `cmd` to completion with its output captured; returns stdout, or an error naming the
/// command with the last lines of stdout and stderr.
pub fn run(cmd: &mut Command) -> Result<String> {
    let out = output(cmd)?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    Err(failed(cmd, &out))
}

/// Runs `cmd` to completion with its output captured, whatever its exit status.
pub fn output(cmd: &mut Command) -> Result<Output> {
    cmd.output().map_err(|source| Error::Spawn { program: cmd.get_program().to_string_lossy().into_owned(), source })
}

/// The error for a command that exited unsuccessfully with `out`.
pub fn failed(cmd: &Command, out: &Output) -> Error {
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    Error::Command { command: describe(cmd), status: out.status.to_string(), output: tail(&text, TAIL_LINES) }
}

/// The program and its arguments as one line (long arguments such as scripts are cut).
pub fn describe(cmd: &Command) -> String {
    let mut line = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        let arg = arg.to_string_lossy();
        line.push(' ');
        match arg.char_indices().nth(60) {
            Some((cut, _)) => {
                line.push_str(&arg[..cut]);
                line.push_str("...");
            }
            None => line.push_str(&arg),
        }
    }
    line
}

/// The last `lines` lines of `text`.
pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Whether `tool` is an executable on `PATH`.
pub fn have(tool: &str) -> bool {
    let Some(path) = std::env::var_os("PATH") else { return false };
    std::env::split_paths(&path).any(|dir| dir.join(tool).is_file())
}

/// Fails with [`Error::MissingTool`] unless `tool` is on `PATH`.
pub fn need(tool: &'static str, package: &'static str) -> Result<()> {
    if have(tool) { Ok(()) } else { Err(Error::MissingTool { tool, package }) }
}
