//! Finding and loading the BTF a command works on.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bpfkit_btf::{Btf, BtfError};

use crate::Source;

/// Where the running kernel exposes its BTF: `vmlinux` and one split file per module.
pub const SYSFS_BTF: &str = "/sys/kernel/btf";

/// A loaded BTF and where it came from.
pub struct Loaded {
    pub path: PathBuf,
    pub base_path: Option<PathBuf>,
    pub btf: Btf,
}

/// Loads the source's BTF; modules under /sys/kernel/btf get vmlinux as base implicitly.
pub fn load(source: &Source) -> Result<Loaded, BtfError> {
    let vmlinux = Path::new(SYSFS_BTF).join("vmlinux");
    let path = source.path.clone().unwrap_or_else(|| vmlinux.clone());
    let base_path = match &source.base {
        Some(base) => Some(base.clone()),
        None if path.starts_with(SYSFS_BTF) && path != vmlinux => Some(vmlinux),
        None => None,
    };
    let base = match &base_path {
        Some(p) => Some(Arc::new(Btf::open(p, None).map_err(|e| in_file(p, e))?)),
        None => None,
    };
    let btf = Btf::open(&path, base).map_err(|e| in_file(&path, e))?;
    Ok(Loaded { path, base_path, btf })
}

/// Prefixes parse errors with the file they came from (I/O errors already name it).
fn in_file(path: &Path, e: BtfError) -> BtfError {
    match e {
        e @ BtfError::Io { .. } => e,
        e => BtfError::Io { path: path.display().to_string(), source: std::io::Error::other(e) },
    }
}
