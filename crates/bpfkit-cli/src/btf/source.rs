//! Finding and loading the BTF a command works on.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bpfkit_btf::{Btf, BtfBytes, BtfError, Compression, ModuleFile, elf};

use crate::Source;
use crate::error::CliError;

/// Where the running kernel exposes its BTF: `vmlinux` and one split file per module.
pub const SYSFS_BTF: &str = "/sys/kernel/btf";

/// What the file holding the BTF is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// The file is the BTF blob (sysfs, `bpftool btf dump ... format raw` input).
    Raw,
    /// An ELF file (vmlinux, `.ko`, BPF object); the BTF is its `.BTF` section.
    Elf,
    /// A compressed kernel module (`.ko.xz`, `.ko.zst`, `.ko.gz`), decompressed in memory.
    Compressed(Compression),
}

/// A loaded BTF and where it came from.
pub struct Loaded {
    pub path: PathBuf,
    pub container: Container,
    /// Length of the whole file (for ELF, more than the BTF blob).
    pub file_len: usize,
    /// The base's path, for split BTF.
    pub base_path: Option<PathBuf>,
    /// For a module with a distilled base (`.BTF.base`): its type count.
    pub distilled_types: Option<u32>,
    pub btf: Btf,
}

/// Loads the source's BTF: PATH (default vmlinux) on top of `--base`, or on top of vmlinux for
/// a module under /sys/kernel/btf.
pub fn load(source: &Source) -> Result<Loaded, CliError> {
    let path = source.path.clone().unwrap_or_else(|| Path::new(SYSFS_BTF).join("vmlinux"));
    // A module file is read (and decompressed) once: its vermagic decides the implicit base.
    // A module: named so, or any ELF file with a distilled base (`bpfkit btf distill` output).
    let named_ko = path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.contains(".ko"));
    let module = match named_ko || has_distilled_base(&path) {
        true => Some(ModuleFile::open(&path).map_err(|source| CliError::Load {
            path: path.clone(),
            is_base: false,
            without_base: false,
            source,
        })?),
        false => None,
    };
    let distilled = module.as_ref().is_some_and(ModuleFile::has_distilled_base);
    let base_path = match (&module, distilled) {
        // A distilled base is what makes a module portable: relocate it onto the running
        // vmlinux whatever release it was built for, as the kernel would load it.
        (Some(_), true) if source.on_distilled_base => None,
        (Some(_), true) => source.base.clone().or_else(running_vmlinux),
        (Some(m), false) => source.base.clone().or_else(|| running_vmlinux_for(m)),
        (None, _) => source.base.clone().or_else(|| implicit_base(&path)),
    };
    let base = match &base_path {
        Some(p) => {
            let base = Btf::open(p, None).map_err(|source| CliError::Load {
                path: p.clone(),
                is_base: true,
                without_base: true,
                source,
            })?;
            Some(Arc::new(base))
        }
        None => None,
    };
    let without_base = base.is_none();
    let mut distilled_types = None;
    let loaded = match module {
        Some(m) => {
            let container = match m.compression() {
                Compression::None => Container::Elf,
                c => Container::Compressed(c),
            };
            let load_error = |source| CliError::Load { path: path.clone(), is_base: false, without_base, source };
            distilled_types = m.distilled_base().map_err(load_error)?.map(|d| d.type_count() - 1);
            let btf = match (base, &base_path) {
                (Some(base), Some(base_path)) if distilled => {
                    m.btf_relocated_on(base).map_err(|source| match source {
                        source @ BtfError::Relocate(_) => {
                            CliError::Relocate { path: path.clone(), base: base_path.clone(), source, hint: true }
                        }
                        source => CliError::Load { path: path.clone(), is_base: false, without_base, source },
                    })?
                }
                (base, _) => m.btf_on(base).map_err(|source| CliError::Load {
                    path: path.clone(),
                    is_base: false,
                    without_base,
                    source,
                })?,
            };
            Ok((btf, container, m.file_len()))
        }
        None => open(&path, base).map_err(|source| CliError::Load {
            path: path.clone(),
            is_base: false,
            without_base,
            source,
        }),
    };
    let (btf, container, file_len) = loaded?;
    Ok(Loaded { path, container, file_len, base_path, distilled_types, btf })
}

/// What `Btf::open` does, keeping what the file turned out to be (for `inspect`).
fn open(path: &Path, base: Option<Arc<Btf>>) -> Result<(Btf, Container, usize), BtfError> {
    let bytes = BtfBytes::open(path)?;
    let file_len = bytes.len();
    let compression = Compression::detect(bytes.as_slice());
    if compression != Compression::None {
        // A compressed kernel module not named `.ko*`: its `.BTF` is split on `base`.
        let module = ModuleFile::from_bytes(bytes.as_slice().to_vec())?;
        return Ok((module.btf_on(base)?, Container::Compressed(compression), file_len));
    }
    if elf::is_elf(bytes.as_slice()) {
        Ok((Btf::from_elf(bytes, base)?, Container::Elf, file_len))
    } else {
        let btf = match base {
            Some(base) => Btf::parse_split(bytes, base)?,
            None => Btf::parse(bytes)?,
        };
        Ok((btf, Container::Raw, file_len))
    }
}

/// Whether `path` is an ELF file with a `.BTF.base` section (unreadable files are not: the
/// caller's own read reports why).
fn has_distilled_base(path: &Path) -> bool {
    BtfBytes::open(path).is_ok_and(|b| {
        elf::is_elf(b.as_slice()) && matches!(elf::find_section(b.as_slice(), elf::BTF_BASE_SECTION), Ok(Some(_)))
    })
}

/// The running kernel's vmlinux for a module file (`.ko`, `.ko.xz`, ...) built for the running
/// kernel (its `vermagic` names the running release). A module built for another kernel gets
/// no implicit base: split BTF on the wrong vmlinux can parse and still mean nothing, so
/// `--base` must say which.
fn running_vmlinux_for(module: &ModuleFile) -> Option<PathBuf> {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok()?;
    (module.kernel_release()? == release.trim()).then(running_vmlinux).flatten()
}

/// The running kernel's vmlinux BTF, if it exposes one.
pub fn running_vmlinux() -> Option<PathBuf> {
    let vmlinux = Path::new(SYSFS_BTF).join("vmlinux");
    vmlinux.exists().then_some(vmlinux)
}

/// vmlinux for a module's BTF in sysfs (`/sys/kernel/btf/<module>`, also given relative to the
/// current directory), which is always split on it.
fn implicit_base(path: &Path) -> Option<PathBuf> {
    let sysfs = Path::new(SYSFS_BTF);
    let path = std::path::absolute(path).ok()?;
    let is_module = path.parent() == Some(sysfs) && path.file_name().is_some_and(|n| n != "vmlinux");
    is_module.then(|| sysfs.join("vmlinux"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysfs_modules_sit_on_vmlinux() {
        let vmlinux = Some(PathBuf::from("/sys/kernel/btf/vmlinux"));
        assert_eq!(implicit_base(Path::new("/sys/kernel/btf/btrfs")), vmlinux);
        assert_eq!(implicit_base(Path::new("/sys/kernel/btf/nf_tables/")), vmlinux);
        assert_eq!(implicit_base(Path::new("/sys/kernel/btf/vmlinux")), None);
        assert_eq!(implicit_base(Path::new("/sys/kernel/btf")), None);
        assert_eq!(implicit_base(Path::new("/tmp/btrfs")), None);
        assert_eq!(implicit_base(Path::new("btrfs.btf")), None);
    }
}
