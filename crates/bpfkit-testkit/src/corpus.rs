//! The Debian kernel BTF corpus of `scripts/fetch-btf-corpus.sh`, fetched on first use.
//!
//! Every test that reads the corpus goes through [`kernel_dir`], so that no test depends on
//! another test binary having fetched it first (on a fresh machine, nothing is cached). The
//! script takes a lock, so test binaries running at the same time fetch it once.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use crate::cache;
use crate::command;
use crate::error::{Error, Result};

/// Why the corpus is not used: `BPFKIT_SKIP_CORPUS` is set (offline runs).
pub const SKIPPED: &str = "BPFKIT_SKIP_CORPUS is set, the Debian kernel corpus is not fetched";

/// The corpus root, fetching whatever is missing (once per process); `Ok(None)` when
/// `BPFKIT_SKIP_CORPUS` is set.
pub fn root() -> Result<Option<PathBuf>> {
    static ROOT: OnceLock<std::result::Result<Option<PathBuf>, String>> = OnceLock::new();
    ROOT.get_or_init(|| {
        if std::env::var_os("BPFKIT_SKIP_CORPUS").is_some() {
            return Ok(None);
        }
        let script = cache::repo_root().join("scripts/fetch-btf-corpus.sh");
        let stdout = command::run(Command::new("bash").arg(&script)).map_err(|e| e.to_string())?;
        let root = stdout.lines().last().map(PathBuf::from);
        root.map(Some).ok_or_else(|| format!("{} printed no corpus root", script.display()))
    })
    .clone()
    .map_err(Error::Cache)
}

/// The directory of corpus kernel `name` (`6.1`, `6.12`, `6.12-prev`, `sid`), fetched if
/// needed; `Ok(None)` when the corpus is skipped.
pub fn kernel_dir(name: &str) -> Result<Option<PathBuf>> {
    let Some(root) = root()? else { return Ok(None) };
    let dir = root.join(name);
    if !dir.join(".complete").is_file() {
        return Err(Error::Cache(format!("{} is incomplete after fetching the corpus", dir.display())));
    }
    Ok(Some(dir))
}

/// The BTF vmlinux of corpus kernel `name`; `Ok(None)` when the corpus is skipped.
pub fn vmlinux(name: &str) -> Result<Option<PathBuf>> {
    Ok(kernel_dir(name)?.map(|dir| dir.join("vmlinux")))
}

/// Every `.ko` file under `dir` (a corpus kernel's `modules` tree), in path order.
pub fn module_files(dir: &std::path::Path) -> Result<Vec<PathBuf>> {
    fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>) -> Result<()> {
        for entry in std::fs::read_dir(dir).map_err(|e| Error::io("read", dir, e))? {
            let path = entry.map_err(|e| Error::io("read", dir, e))?.path();
            if path.is_dir() {
                walk(&path, out)?;
            } else if path.extension().is_some_and(|e| e == "ko") {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, &mut out)?;
    out.sort();
    Ok(out)
}
