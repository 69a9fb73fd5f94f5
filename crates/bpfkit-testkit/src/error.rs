//! The harness's error type: every failure names the step, the command or the file involved.

use std::path::PathBuf;

/// Why a harness step (cache, chroot, module lookup, initramfs, VM) failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory operation failed.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What was being done ("read", "create", ...).
        what: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A program could not be started.
    #[error("cannot run {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A program ran and failed; `output` holds the tail of what it printed.
    #[error("{command} failed ({status}){}", if output.is_empty() { String::new() } else { format!(":\n{output}") })]
    Command {
        /// The command line, shortened to the program and its first arguments.
        command: String,
        /// Its exit status.
        status: String,
        /// The last lines of its stdout and stderr.
        output: String,
    },
    /// A required tool is not installed.
    #[error("{tool} is not installed (Debian package {package})")]
    MissingTool {
        /// The executable looked for.
        tool: &'static str,
        /// The Debian package providing it.
        package: &'static str,
    },
    /// A kernel module could not be found or its metadata is unusable.
    #[error("kernel module {name}: {why}")]
    Module {
        /// The module name.
        name: String,
        /// What is wrong.
        why: String,
    },
    /// The BTF corpus / kernel cache is not usable.
    #[error("kernel cache: {0}")]
    Cache(String),
    /// The VM did not produce a result.
    #[error("VM: {0}")]
    Vm(String),
}

impl Error {
    /// An [`Error::Io`] for `path`.
    pub fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { what, path: path.into(), source }
    }
}

/// The harness's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
