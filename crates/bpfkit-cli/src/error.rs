//! What a command can fail with, and how it is shown to the user.

use std::error::Error;
use std::fmt;
use std::io;
use std::path::PathBuf;

use bpfkit_btf::{BtfError, TypeFault};

/// A failed command; `main` prints it as `bpfkit: <message>` and exits with 1.
#[derive(Debug)]
pub enum CliError {
    /// A BTF file could not be read or parsed.
    Load {
        path: PathBuf,
        /// The file was the `--base` (or implicit vmlinux base) of another.
        is_base: bool,
        /// It was parsed without a base: a split blob fails in ways worth a hint.
        without_base: bool,
        source: BtfError,
    },
    /// `--id` names no type.
    NoSuchId { id: u32, type_count: u32 },
    /// `--name` matches no type.
    NoSuchName(String),
    /// A query on loaded BTF failed.
    Btf(BtfError),
    /// Writing the output failed.
    Io(io::Error),
    /// A loader operation failed (an object could not be opened, the kernel refused a map).
    Loader(bpfkit::Error),
    /// An object could not be loaded at all.
    Object(PathBuf, bpfkit::Error),
    /// `bpfkit load`: this many programs were rejected (each reported above).
    NotAllLoaded(usize),
    /// A module's BTF could not be relocated from its distilled base onto `base`.
    Relocate {
        path: PathBuf,
        base: PathBuf,
        source: BtfError,
        /// Mention `--on-distilled-base` (the base was chosen implicitly by a viewing command).
        hint: bool,
    },
    /// `btf relocate` on a module without a distilled base.
    NotDistilled(PathBuf),
    /// `btf distill` on BTF that is not split.
    NotSplit(PathBuf),
    /// No base given and the running kernel has no `/sys/kernel/btf/vmlinux`.
    NoVmlinux,
    /// An output file could not be written.
    Write(PathBuf, io::Error),
    /// A C header could not be generated (corrupt BTF).
    CHeader(bpfkit_btf::c_header::CHeaderError),
    /// The command line asks for something impossible (says what and why).
    Usage(String),
    /// Something else failed at run time (says what).
    Failed(String),
}

impl From<bpfkit::Error> for CliError {
    fn from(e: bpfkit::Error) -> Self {
        CliError::Loader(e)
    }
}

impl CliError {
    /// Whether the reader of stdout went away (`| head`): not an error for a command-line tool.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, CliError::Io(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}

/// Errors a split blob typically produces when parsed as a standalone one.
fn looks_split(e: &BtfError) -> bool {
    matches!(
        e,
        BtfError::BadStrings { .. }
            | BtfError::BadType { fault: TypeFault::BadTypeRef { .. } | TypeFault::BadNameOffset { .. }, .. }
    )
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Load { path, is_base, without_base, source } => {
                let role = if *is_base { "base " } else { "" };
                // An I/O error's own text starts with the path already; say it once.
                match source {
                    BtfError::Io { error: io, .. } => write!(f, "{role}{}: {io}", path.display())?,
                    e => write!(f, "{role}{}: {e}", path.display())?,
                }
                if *without_base && looks_split(source) {
                    f.write_str(" (if this is split BTF, give its base with --base)")?;
                }
                Ok(())
            }
            CliError::NoSuchId { id: 0, .. } => f.write_str("type id 0 is void, which has no type record"),
            CliError::NoSuchId { id, type_count } => {
                write!(f, "no type with id {id} (ids are 1..={})", type_count.saturating_sub(1))
            }
            CliError::NoSuchName(name) => write!(f, "no type named '{name}'"),
            CliError::Btf(e) => e.fmt(f),
            CliError::Io(e) => write!(f, "writing output: {e}"),
            CliError::Loader(e) => e.fmt(f),
            CliError::Object(path, e) => write!(f, "{}: {e}", path.display()),
            CliError::NotAllLoaded(n) => write!(f, "{n} program(s) rejected (see above)"),
            CliError::Relocate { path, base, source, hint } => {
                write!(f, "{}: cannot relocate its distilled base onto {}: {source}", path.display(), base.display())?;
                if *hint {
                    f.write_str(" (--base picks another vmlinux; --on-distilled-base shows the module unrelocated)")?;
                }
                Ok(())
            }
            CliError::NotDistilled(path) => write!(
                f,
                "{} has no distilled base (.BTF.base): its BTF is split on the exact vmlinux it was built against, nothing to relocate",
                path.display()
            ),
            CliError::NotSplit(path) => {
                write!(f, "{} is not split BTF (give the base it sits on with --base)", path.display())
            }
            CliError::NoVmlinux => f.write_str("no --base given and /sys/kernel/btf/vmlinux does not exist"),
            CliError::Write(path, e) => write!(f, "writing {}: {e}", path.display()),
            CliError::Usage(why) | CliError::Failed(why) => f.write_str(why),
            CliError::CHeader(e) => e.fmt(f),
        }
    }
}

impl Error for CliError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            CliError::Load { source, .. } | CliError::Btf(source) | CliError::Relocate { source, .. } => Some(source),
            CliError::Io(e) | CliError::Write(_, e) => Some(e),
            CliError::CHeader(e) => Some(e),
            CliError::Loader(e) | CliError::Object(_, e) => Some(e),
            CliError::NoSuchId { .. }
            | CliError::NoSuchName(_)
            | CliError::NotAllLoaded(_)
            | CliError::NotDistilled(_)
            | CliError::NotSplit(_)
            | CliError::NoVmlinux
            | CliError::Usage(_)
            | CliError::Failed(_) => None,
        }
    }
}

impl From<io::Error> for CliError {
    fn from(e: io::Error) -> Self {
        CliError::Io(e)
    }
}

impl From<bpfkit_btf::c_header::CHeaderError> for CliError {
    fn from(e: bpfkit_btf::c_header::CHeaderError) -> Self {
        match e {
            // Output errors stay output errors (a closed pipe ends the command quietly).
            bpfkit_btf::c_header::CHeaderError::Io(io) => CliError::Io(io),
            e => CliError::CHeader(e),
        }
    }
}

impl From<BtfError> for CliError {
    fn from(e: BtfError) -> Self {
        CliError::Btf(e)
    }
}

/// The error's message followed by its sources, `: `-separated. A source whose text the message
/// already contains is skipped: many errors (`BtfError::Io`, `io::Error`, [`CliError::Load`])
/// both print their source and return it from `source()`.
pub fn chain(e: &dyn Error) -> String {
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
        source = s.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_says_each_cause_once() {
        let path = PathBuf::from("/nonexistent");
        let io = io::Error::from(io::ErrorKind::NotFound);
        let source = BtfError::Io { path: path.display().to_string(), error: io };
        let e = CliError::Load { path, is_base: true, without_base: true, source };
        assert_eq!(chain(&e), "base /nonexistent: entity not found");
    }

    #[test]
    fn chain_appends_causes_not_in_the_message() {
        #[derive(Debug)]
        struct Outer(io::Error);
        impl fmt::Display for Outer {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("outer")
            }
        }
        impl Error for Outer {
            fn source(&self) -> Option<&(dyn Error + 'static)> {
                Some(&self.0)
            }
        }
        assert_eq!(chain(&Outer(io::Error::other("inner"))), "outer: inner");
    }

    #[test]
    fn chain_with_hint_says_the_cause_once() {
        let source = BtfError::BadStrings { reason: "x" };
        let e = CliError::Load { path: "m".into(), is_base: false, without_base: true, source };
        assert_eq!(chain(&e), "m: bad BTF string section: x (if this is split BTF, give its base with --base)");
    }

    #[test]
    fn split_hint_only_without_base() {
        let source = || BtfError::BadStrings { reason: "a base BTF's strings must start with the empty string" };
        let load = |without_base| CliError::Load { path: "m".into(), is_base: false, without_base, source: source() };
        assert!(load(true).to_string().ends_with("(if this is split BTF, give its base with --base)"));
        assert!(!load(false).to_string().contains("--base"));
    }
}
