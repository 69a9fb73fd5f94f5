//! Why loading, attaching or using an object failed. Every variant names what it was about (the
//! object, map or program, the kernel operation) and keeps the kernel's errno as its source;
//! program load failures carry the verifier's log.

use std::io;

use bpfkit_btf::BtfError;
use bpfkit_obj::ObjError;

/// A bpfkit error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The object file could not be read or prepared.
    #[error(transparent)]
    Object(#[from] ObjError),
    /// Kernel or object BTF could not be read.
    #[error("BTF: {0}")]
    Btf(#[from] BtfError),
    /// No map, program or global of that name.
    #[error("{what} {name:?} not found{hint}")]
    NotFound {
        /// `map`, `program`, `global variable`, ...
        what: &'static str,
        /// The name asked for.
        name: String,
        /// A list of the names that exist, or other help (may be empty).
        hint: String,
    },
    /// The kernel refused the object's BTF.
    #[error("object {object}: the kernel rejected its BTF: {source}{}", log_tail(log))]
    BtfLoad {
        /// The object.
        object: String,
        /// errno.
        source: io::Error,
        /// The kernel's BTF log.
        log: String,
    },
    /// A map cannot be created as it is defined (checked before asking the kernel): a size
    /// left at 0, a size where the kernel sizes the map itself.
    #[error("map {map}: cannot be created as defined: {why}")]
    MapDefinition {
        /// The map.
        map: String,
        /// What is wrong and what to do.
        why: String,
    },
    /// The kernel refused to create a map.
    #[error("map {map}: BPF_MAP_CREATE failed: {source}{hint}")]
    MapCreate {
        /// The map.
        map: String,
        /// errno.
        source: io::Error,
        /// What the error usually means for this map (may be empty).
        hint: String,
    },
    /// The verifier (or the kernel) rejected a program.
    #[error("program {program}: the kernel rejected it: {source}{note}{}", log_tail(log))]
    ProgramLoad {
        /// The program.
        program: String,
        /// errno.
        source: io::Error,
        /// What bpfkit knows about the failure beyond the log (such as the weak kfunc a
        /// reachable call refers to); may be empty.
        note: String,
        /// The complete verifier log (empty if the kernel gave none).
        log: String,
    },
    /// Externs the kernel cannot provide, all of them.
    #[error("object {object}: unresolved externs:\n  {}", unresolved.join("\n  "))]
    Externs {
        /// The object.
        object: String,
        /// Each unresolved extern with the reason.
        unresolved: Vec<String>,
    },
    /// A program cannot be loaded as the object describes it (unknown section, missing target).
    #[error("program {program}: {why}")]
    Program {
        /// The program.
        program: String,
        /// What is wrong.
        why: String,
    },
    /// Attaching a program failed.
    #[error("program {program}: cannot attach{}: {why}", target.as_deref().map(|t| format!(" to {t}")).unwrap_or_default())]
    Attach {
        /// The program.
        program: String,
        /// Where it was to be attached.
        target: Option<String>,
        /// What went wrong (kernel error included).
        why: String,
    },
    /// A map operation was given unusable arguments or the kernel refused it.
    #[error("map {map}: {op}: {source}")]
    MapOp {
        /// The map.
        map: String,
        /// The operation (`lookup`, `update`, ...).
        op: &'static str,
        /// The kernel's or the argument check's error.
        source: io::Error,
    },
    /// Another kernel operation failed.
    #[error("{op}: {source}")]
    Sys {
        /// What was being done.
        op: String,
        /// errno or I/O error.
        source: io::Error,
    },
}

/// The last lines of a verifier log, for the error's one-line message (the whole log stays in
/// the error's `log` field).
fn log_tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return String::new();
    }
    let start = lines.len().saturating_sub(6);
    format!("\nverifier log (last {} of {} lines):\n{}", lines.len() - start, lines.len(), lines[start..].join("\n"))
}

impl Error {
    pub(crate) fn sys(op: impl Into<String>, source: io::Error) -> Error {
        Error::Sys { op: op.into(), source }
    }

    pub(crate) fn not_found<'a>(what: &'static str, name: &str, known: impl IntoIterator<Item = &'a str>) -> Error {
        let known: Vec<&str> = known.into_iter().collect();
        let hint = if known.is_empty() { String::new() } else { format!(" (the object has: {})", known.join(", ")) };
        Error::NotFound { what, name: name.to_owned(), hint }
    }

    /// The verifier log of a rejected program, if this is one.
    pub fn verifier_log(&self) -> Option<&str> {
        match self {
            Error::ProgramLoad { log, .. } => Some(log),
            _ => None,
        }
    }
}

/// bpfkit's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
