//! Where the harness keeps what it downloads and builds: outside the checkout, shared by every
//! clone, so a second run finds the kernel, the chroot and the test module already there.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The cache root: `$BPFKIT_CACHE`, else `$HOME/.cache/bpfkit` (the same root the BTF corpus
/// script uses).
pub fn root() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("BPFKIT_CACHE") {
        let dir = PathBuf::from(dir);
        return if dir.is_absolute() {
            Ok(dir)
        } else {
            std::env::current_dir().map(|cwd| cwd.join(dir)).map_err(|e| Error::io("resolve", "BPFKIT_CACHE", e))
        };
    }
    match std::env::var_os("HOME") {
        Some(home) => Ok(PathBuf::from(home).join(".cache/bpfkit")),
        None => Err(Error::Cache("neither BPFKIT_CACHE nor HOME is set".into())),
    }
}

/// The repository's root directory (this crate lives at `crates/bpfkit-testkit`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// An exclusive lock on `path` (created if needed), held until the returned file is dropped:
/// test binaries and `cargo xtask` may run at the same time and must not build the same thing
/// twice at once.
pub fn lock(path: &Path) -> Result<File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    }
    let file = File::create(path).map_err(|e| Error::io("create", path, e))?;
    file.lock().map_err(|e| Error::io("lock", path, e))?;
    Ok(file)
}

/// Creates directory `dir` and its parents.
pub fn mkdirs(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))
}

/// Removes `path` (file or directory tree) if it exists.
pub fn remove(path: &Path) -> Result<()> {
    let result = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    };
    result.map_err(|e| Error::io("remove", path, e))
}

/// 64-bit FNV-1a: a stable cache key (std's hasher may change between Rust releases).
pub struct Fnv(pub u64);

impl Fnv {
    /// The empty hash.
    pub fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    /// Adds `bytes`.
    pub fn add(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv::new()
    }
}
