//! The running kernel's BTF, shared by every object the process loads: vmlinux, read once per
//! process (`/sys/kernel/btf/vmlinux`, memory-mapped where the kernel allows, so holding it costs
//! page cache, not heap), and module BTF, found lazily through the kernel's BTF id API only when
//! vmlinux cannot answer.
//!
//! Module BTF is *split* on vmlinux, and its type ids only mean something together with the
//! module's BTF fd, which the kernel ABIs take alongside the id (`attach_btf_obj_fd`, fd_array
//! slots, `value_type_btf_obj_fd`). A [`ModuleBtf`] therefore keeps both. Discovery walks the
//! BTF ids (`BPF_BTF_GET_NEXT_ID`), opens each new one (`BPF_BTF_GET_FD_BY_ID`) and asks what it
//! is (`BPF_OBJ_GET_INFO_BY_FD`): ids that vanish meanwhile (a module unloading, `ENOENT`) are
//! skipped, `EPERM` on the walk means no module BTF is visible (not an error), and ids already
//! seen are not opened again, so asking again after modules were loaded costs one walk.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use bpfkit_btf::{Btf, BtfBytes, Kind, TypeId};
use bpfkit_obj::core::{CoreTarget, ModuleTarget};

use crate::error::{Error, Result};
use crate::sys;

/// Where the kernel exposes its BTF.
pub const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

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
    pub btf: Arc<Btf>,
}

impl AsFd for ModuleBtf {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// One kernel BTF object seen so far.
enum Seen {
    /// Not a module's (vmlinux, a program's BTF).
    Other,
    /// A module's. Its parsed BTF stays here while loads run; after them only if one used it
    /// (see [`KernelBtf::release_unused`]).
    Module { name: String, btf: Option<Arc<ModuleBtf>>, used: bool },
}

/// Kernel BTF ids seen so far, by id (the kernel lists ids in ascending order, so a sorted
/// list, appended to, with binary search).
#[derive(Default)]
struct Discovered {
    ids: Vec<(u32, Seen)>,
}

impl Discovered {
    fn get(&self, id: u32) -> Option<&Seen> {
        self.ids.binary_search_by_key(&id, |(i, _)| *i).ok().map(|at| &self.ids[at].1)
    }

    fn insert(&mut self, id: u32, seen: Seen) {
        match self.ids.binary_search_by_key(&id, |(i, _)| *i) {
            Ok(at) => self.ids[at].1 = seen,
            Err(at) => self.ids.insert(at, (id, seen)),
        }
    }

    fn seen_mut(&mut self) -> impl Iterator<Item = &mut Seen> {
        self.ids.iter_mut().map(|(_, seen)| seen)
    }
}

/// vmlinux BTF plus the modules' BTF, discovered on demand.
pub struct KernelBtf {
    vmlinux: Arc<Btf>,
    /// False for a user-supplied BTF standing in for vmlinux: no module discovery then.
    live: bool,
    discovered: Mutex<Discovered>,
    walks: AtomicUsize,
    /// Loads running now: module BTF is released only when the last one ends.
    loads: AtomicUsize,
}

impl std::fmt::Debug for KernelBtf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KernelBtf").field("types", &self.vmlinux.type_count()).field("live", &self.live).finish()
    }
}

static REGISTRY: OnceLock<Arc<KernelBtf>> = OnceLock::new();

/// The running kernel's BTF registry, created on first use and shared by the whole process.
/// A failure (no `/sys/kernel/btf/vmlinux`) is returned and not remembered.
pub fn registry() -> Result<Arc<KernelBtf>> {
    if let Some(r) = REGISTRY.get() {
        return Ok(r.clone());
    }
    let vmlinux = Arc::new(Btf::open(VMLINUX_BTF, None)?);
    let fresh = Arc::new(KernelBtf::new(vmlinux, true));
    // Two threads may race to parse it; one result wins and both use it.
    Ok(REGISTRY.get_or_init(|| fresh).clone())
}

/// The running kernel's vmlinux BTF (from the shared [`registry`]).
pub fn vmlinux() -> Result<Arc<Btf>> {
    Ok(registry()?.vmlinux().clone())
}

/// Kernel BTF from another file (raw BTF or an ELF with `.BTF`), for kernels without
/// `/sys/kernel/btf` or to resolve against another kernel's types; not cached.
pub fn vmlinux_from(path: impl AsRef<Path>) -> Result<Arc<Btf>> {
    Ok(Arc::new(Btf::open(path, None)?))
}

impl KernelBtf {
    fn new(vmlinux: Arc<Btf>, live: bool) -> KernelBtf {
        KernelBtf {
            vmlinux,
            live,
            discovered: Mutex::new(Discovered::default()),
            walks: AtomicUsize::new(0),
            loads: AtomicUsize::new(0),
        }
    }

    /// A registry over a user-supplied BTF file instead of the running kernel's (libbpf's
    /// `btf_custom_path`): used for CO-RE relocations only; it has no modules, and kernel
    /// objects (attach targets, kfuncs) still come from the running kernel.
    pub fn from_path(path: impl AsRef<Path>) -> Result<KernelBtf> {
        Ok(KernelBtf::new(Arc::new(Btf::open(path, None)?), false))
    }

    /// vmlinux BTF.
    pub fn vmlinux(&self) -> &Arc<Btf> {
        &self.vmlinux
    }

    /// Whether this registry describes the running kernel (rather than a BTF file).
    pub fn is_live(&self) -> bool {
        self.live
    }

    /// How many times module BTF was looked for (0: nothing so far needed anything beyond
    /// vmlinux).
    pub fn module_walks(&self) -> usize {
        self.walks.load(Ordering::Relaxed)
    }

    /// The BTF of every loaded module, in id order, discovering modules loaded since the last
    /// call (and forgetting unloaded ones).
    pub fn modules(&self) -> Result<Vec<Arc<ModuleBtf>>> {
        if !self.live {
            return Ok(Vec::new());
        }
        self.walks.fetch_add(1, Ordering::Relaxed);
        let mut d = self.discovered.lock().unwrap_or_else(|p| p.into_inner());
        let mut present = Vec::new();
        let mut out = Vec::new();
        let mut id = 0;
        loop {
            id = match sys::btf_get_next_id(id) {
                Ok(Some(next)) => next,
                Ok(None) => break,
                Err(e) if e.raw_os_error() == Some(libc::EPERM) => break,
                Err(e) => return Err(Error::sys("BPF_BTF_GET_NEXT_ID", e)),
            };
            present.push(id);
            match d.get(id) {
                Some(Seen::Other) => continue,
                Some(Seen::Module { btf: Some(m), .. }) => {
                    out.push(m.clone());
                    continue;
                }
                _ => {}
            }
            match self.open_module(id)? {
                None => {}
                Some(None) => {
                    d.insert(id, Seen::Other);
                }
                Some(Some(m)) => {
                    let used = matches!(d.get(id), Some(Seen::Module { used: true, .. }));
                    d.insert(id, Seen::Module { name: m.name.clone(), btf: Some(m.clone()), used });
                    out.push(m);
                }
            }
        }
        d.ids.retain(|(id, _)| present.binary_search(id).is_ok());
        Ok(out)
    }

    /// Marks module `name` as used: it answered a lookup (a CO-RE candidate, an extern, an
    /// attach target, a struct_ops type), so its BTF stays parsed for later loads.
    pub fn mark_used(&self, name: &str) {
        let mut d = self.discovered.lock().unwrap_or_else(|p| p.into_inner());
        for seen in d.seen_mut() {
            if let Seen::Module { name: n, used, .. } = seen {
                if n == name {
                    *used = true;
                }
            }
        }
    }

    /// A load begins: module BTF it searches stays parsed until [`load_finished`](Self::load_finished).
    pub(crate) fn load_started(&self) {
        self.loads.fetch_add(1, Ordering::AcqRel);
    }

    /// A load ended; when no other load runs, unused module BTF is let go
    /// ([`release_unused`](Self::release_unused)), so that concurrent loads keep what they search.
    pub(crate) fn load_finished(&self) {
        if self.loads.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.release_unused();
        }
    }

    /// Drops the parsed BTF of every module no load has used (called when the last load ends): a
    /// search through module BTF reads every module, but only the ones that answered stay in
    /// memory, so module BTF memory follows the modules programs use. Callers still holding a
    /// module keep it alive; a later search reads a dropped module again.
    pub fn release_unused(&self) {
        let mut d = self.discovered.lock().unwrap_or_else(|p| p.into_inner());
        for seen in d.seen_mut() {
            if let Seen::Module { btf, used: false, .. } = seen {
                *btf = None;
            }
        }
    }

    /// The modules whose BTF the registry holds now, and the bytes of their BTF.
    pub fn held_modules(&self) -> (Vec<String>, usize) {
        let d = self.discovered.lock().unwrap_or_else(|p| p.into_inner());
        let mut names = Vec::new();
        let mut bytes = 0;
        for (_, seen) in &d.ids {
            if let Seen::Module { btf: Some(m), .. } = seen {
                names.push(m.name.clone());
                bytes += m.btf.raw_bytes().len();
            }
        }
        (names, bytes)
    }

    /// Opens kernel BTF object `id`: `Some(Some(module))`, `Some(None)` when it is not a
    /// module's, `None` when it went away meanwhile.
    fn open_module(&self, id: u32) -> Result<Option<Option<Arc<ModuleBtf>>>> {
        let fd = match sys::btf_get_fd_by_id(id) {
            Ok(fd) => fd,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(None),
            Err(e) => return Err(Error::sys(format!("BPF_BTF_GET_FD_BY_ID {id}"), e)),
        };
        let info = match sys::btf_info(fd.as_fd(), false) {
            Ok(info) => info,
            Err(e) => return Err(Error::sys(format!("BTF object {id}: BPF_OBJ_GET_INFO_BY_FD"), e)),
        };
        if !info.kernel_btf || info.name == "vmlinux" || info.name.is_empty() {
            return Ok(Some(None));
        }
        // sysfs has the same bytes and can be mapped (no copy); else ask the kernel for them.
        let sysfs = Path::new("/sys/kernel/btf").join(&info.name);
        let btf = match Btf::open(&sysfs, Some(self.vmlinux.clone())) {
            Ok(btf) => btf,
            Err(_) => {
                let bytes = sys::btf_info(fd.as_fd(), true)
                    .map_err(|e| Error::sys(format!("BTF of module {}", info.name), e))?
                    .bytes
                    .unwrap_or_default();
                Btf::parse_split(BtfBytes::from_vec(bytes), self.vmlinux.clone())?
            }
        };
        Ok(Some(Some(Arc::new(ModuleBtf { name: info.name, id, fd, btf: Arc::new(btf) }))))
    }

    /// The BTF of loaded module `name`, `None` when no loaded module of that name has BTF.
    pub fn module(&self, name: &str) -> Result<Option<Arc<ModuleBtf>>> {
        Ok(self.modules()?.into_iter().find(|m| m.name == name))
    }

    /// The struct_ops types programs can implement (`tcp_congestion_ops`, `sched_ext_ops`, a
    /// module's own), from the `bpf_struct_ops_<name>` wrappers in vmlinux and loaded modules.
    pub fn struct_ops_types(&self) -> Vec<String> {
        crate::struct_ops::available(self)
    }

    /// Own types of loaded modules named `name` of kind `kind`: every module that has one,
    /// so that callers can refuse an ambiguous name instead of taking the first.
    pub fn find_in_modules(&self, name: &str, kind: Kind) -> Result<Vec<(Arc<ModuleBtf>, TypeId)>> {
        Ok(self
            .modules()?
            .into_iter()
            .filter_map(|m| m.btf.find_own_by_name_kind(name, kind).map(|id| (m.clone(), id)))
            .collect())
    }
}

impl CoreTarget for KernelBtf {
    fn vmlinux(&self) -> &Btf {
        &self.vmlinux
    }

    fn modules(&self) -> std::result::Result<Vec<ModuleTarget>, String> {
        KernelBtf::modules(self)
            .map(|ms| ms.iter().map(|m| ModuleTarget { name: m.name.clone(), btf: m.btf.clone() }).collect())
            .map_err(|e| e.to_string())
    }
}

/// Module BTF read from sysfs by module name (`/sys/kernel/btf/<name>`, split on vmlinux),
/// without the fd the kernel ABIs need: for inspection.
pub fn module_from_sysfs(name: &str) -> Result<Btf> {
    if name.is_empty() || name.contains('/') || name == "vmlinux" {
        return Err(Error::not_found("module", name, []));
    }
    Ok(Btf::open(Path::new("/sys/kernel/btf").join(name), Some(vmlinux()?))?)
}
