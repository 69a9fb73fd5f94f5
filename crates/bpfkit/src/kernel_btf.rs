//! The running kernel's BTF: vmlinux, read once per process and shared (every object resolves
//! kernel types, functions and hooks against the same `Arc<Btf>`; `/sys/kernel/btf/vmlinux` is
//! memory-mapped where the kernel allows it, so holding it costs page cache, not heap), and
//! module BTF, found lazily through the kernel's BTF id API only when vmlinux cannot answer.
//!
//! Module BTF is *split* on vmlinux and its type ids are only meaningful together with the
//! module's BTF fd, which kernel ABIs take alongside the id (`attach_btf_obj_fd`, fd_array slots).
//! A [`ModuleBtf`] therefore keeps both.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::sync::{Arc, OnceLock};

use bpfkit_btf::{Btf, BtfBytes, Kind, TypeId};

use crate::error::{Error, Result};
use crate::sys;

/// Where the kernel exposes its BTF.
pub const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

static VMLINUX: OnceLock<Arc<Btf>> = OnceLock::new();

/// The running kernel's vmlinux BTF, parsed on first use and shared afterwards. A failure is
/// returned to the caller and not remembered, so a later call tries again.
pub fn vmlinux() -> Result<Arc<Btf>> {
    if let Some(btf) = VMLINUX.get() {
        return Ok(btf.clone());
    }
    let btf = Arc::new(Btf::open(VMLINUX_BTF, None)?);
    // Two threads may race to parse it; one result wins and both use it.
    Ok(VMLINUX.get_or_init(|| btf).clone())
}

/// Kernel BTF from another file (raw BTF or an ELF with `.BTF`), for kernels without
/// `/sys/kernel/btf` or to resolve against another kernel's types; not cached.
pub fn vmlinux_from(path: impl AsRef<Path>) -> Result<Arc<Btf>> {
    Ok(Arc::new(Btf::open(path, None)?))
}

/// A kernel module's BTF with the fd that names it to the kernel.
#[derive(Debug)]
pub struct ModuleBtf {
    /// The module's name.
    pub name: String,
    /// Kernel BTF object id.
    pub id: u32,
    /// The BTF fd, held open so the kernel keeps the module's BTF object (and its ids) alive.
    pub fd: OwnedFd,
    /// The parsed split BTF, on vmlinux.
    pub btf: Btf,
}

impl AsFd for ModuleBtf {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Visits the kernel's module BTF objects in id order until `visit` returns `Some`. Objects
/// that vanish while being opened (a module unloading: `ENOENT`) are skipped; `EPERM` on the
/// walk (no permission to list BTF objects) means there is no module BTF to see.
pub fn find_in_modules<T>(mut visit: impl FnMut(&ModuleBtf) -> Option<T>) -> Result<Option<(ModuleBtf, T)>> {
    let base = vmlinux()?;
    let mut id = 0;
    loop {
        id = match sys::btf_get_next_id(id) {
            Ok(Some(next)) => next,
            Ok(None) => return Ok(None),
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => return Ok(None),
            Err(e) => return Err(Error::sys("BPF_BTF_GET_NEXT_ID", e)),
        };
        let fd = match sys::btf_get_fd_by_id(id) {
            Ok(fd) => fd,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
            Err(e) => return Err(Error::sys(format!("BPF_BTF_GET_FD_BY_ID {id}"), e)),
        };
        let info = sys::btf_info(fd.as_fd(), false).map_err(|e| Error::sys(format!("BTF object {id} info"), e))?;
        if !info.kernel_btf || info.name == "vmlinux" || info.name.is_empty() {
            continue;
        }
        let bytes = sys::btf_info(fd.as_fd(), true)
            .map_err(|e| Error::sys(format!("BTF of module {}", info.name), e))?
            .bytes
            .unwrap_or_default();
        let btf = Btf::parse_split(BtfBytes::from_vec(bytes), base.clone())?;
        let module = ModuleBtf { name: info.name, id, fd, btf };
        if let Some(found) = visit(&module) {
            return Ok(Some((module, found)));
        }
    }
}

/// The BTF of the loaded module `name`, `None` when no such module has BTF.
pub fn module(name: &str) -> Result<Option<ModuleBtf>> {
    Ok(find_in_modules(|m| (m.name == name).then_some(()))?.map(|(m, ())| m))
}

/// The first kernel type named `name` of `kind` in a module's own types (vmlinux excluded).
pub fn find_module_type(name: &str, kind: Kind) -> Result<Option<(ModuleBtf, TypeId)>> {
    find_in_modules(|m| m.btf.find_own_by_name_kind(name, kind))
}
