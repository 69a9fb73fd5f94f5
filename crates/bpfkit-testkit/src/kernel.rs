//! The Debian sid kernel the VM boots: image, BTF vmlinux and decompressed modules, fetched and
//! cached by `scripts/fetch-btf-corpus.sh` (private apt configuration; the machine's apt sources
//! are never touched). The newest sid kernel with headers is used unless `BPFKIT_KERNEL_SID`
//! pins a version (e.g. `7.2.13+deb14-amd64`).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cache;
use crate::command;
use crate::error::{Error, Result};

/// A cached Debian kernel: `VERSION`, `vmlinuz`, `vmlinux` (BTF) and `modules/kernel/**.ko`.
#[derive(Debug, Clone)]
pub struct SidKernel {
    version: String,
    dir: PathBuf,
}

impl SidKernel {
    /// Fetches what is missing (nothing when the cache is complete) and returns the kernel.
    pub fn fetch() -> Result<SidKernel> {
        let script = cache::repo_root().join("scripts/fetch-btf-corpus.sh");
        let stdout = command::run(Command::new("bash").arg(&script))?;
        let root = stdout
            .lines()
            .last()
            .map(PathBuf::from)
            .ok_or_else(|| Error::Cache(format!("{} printed no corpus root", script.display())))?;
        SidKernel::open(&root.join("sid"))
    }

    /// The kernel cached in `dir` (a corpus `sid` directory), checked for completeness.
    pub fn open(dir: &Path) -> Result<SidKernel> {
        let version_file = dir.join("VERSION");
        let version = std::fs::read_to_string(&version_file).map_err(|e| Error::io("read", &version_file, e))?;
        let kernel = SidKernel { version: version.trim().to_owned(), dir: dir.to_owned() };
        for needed in [kernel.vmlinuz(), kernel.vmlinux(), kernel.modules_dir(), dir.join(".complete")] {
            if !needed.exists() {
                return Err(Error::Cache(format!("{} is missing (run scripts/fetch-btf-corpus.sh)", needed.display())));
            }
        }
        Ok(kernel)
    }

    /// The Debian kernel version, e.g. `7.2.13+deb14-amd64` (`uname -r` in the guest).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The bootable image.
    pub fn vmlinuz(&self) -> PathBuf {
        self.dir.join("vmlinuz")
    }

    /// The BTF-only vmlinux ELF from the headers package (the base of the modules' split BTF).
    pub fn vmlinux(&self) -> PathBuf {
        self.dir.join("vmlinux")
    }

    /// The decompressed module tree (`kernel/**.ko`).
    pub fn modules_dir(&self) -> PathBuf {
        self.dir.join("modules")
    }
}
