//! struct_ops maps in the kernel, whoever created them: listing and unregistering, what
//! `bpftool struct_ops show|unregister` do.
//!
//! Kernel facts: every struct_ops map is a `BPF_MAP_TYPE_STRUCT_OPS` map whose value type is the
//! kernel's `bpf_struct_ops_<ops type>` (`btf_vmlinux_value_type_id` in the map's info, in the
//! kernel BTF object `btf_vmlinux_id` names, 0 meaning vmlinux on kernels that do not say). A
//! plain `.struct_ops` map is registered while element 0 is set (its value starts with a refcount
//! and a state, `BPF_STRUCT_OPS_STATE_INUSE` = 1 when registered) and unregistered by deleting it.
//! A `.struct_ops.link` map (`BPF_F_LINK`) is registered while a struct_ops link holds it, and
//! unregistered by detaching that link; bpftool only knows the first way (deleting the element
//! of a link-based map fails), bpfkit does both.

use std::cell::OnceCell;
use std::io;
use std::os::fd::AsFd;
use std::sync::Arc;

use bpfkit_btf::{Btf, Kind};
use bpfkit_obj::MapType;

use crate::error::{Error, Result};
use crate::kernel_btf::{KernelBtf, ModuleBtf};
use crate::sys::{self, ObjectKind, uapi};

/// One struct_ops map of the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredOps {
    /// The map's kernel id.
    pub map_id: u32,
    /// The map's name (the object's variable name, at most 15 bytes).
    pub name: String,
    /// The kernel ops type it implements (`tcp_congestion_ops`), if its BTF could be read.
    pub type_name: Option<String>,
    /// The module defining that type (`None`: vmlinux).
    pub module: Option<String>,
    /// Whether it registers through a link (`.struct_ops.link`).
    pub link_based: bool,
    /// The link registering it, for a link-based map.
    pub link_id: Option<u32>,
    /// Whether the kernel subsystem uses it now.
    pub registered: bool,
}

/// Every struct_ops map of the kernel, ascending ids. Objects that go away while being listed
/// are skipped.
pub fn list() -> Result<Vec<RegisteredOps>> {
    let links = struct_ops_links()?;
    let kernel = crate::kernel_btf::registry().ok();
    let modules = OnceCell::new();
    let mut out = Vec::new();
    let mut id = 0;
    while let Some(next) = sys::next_id(ObjectKind::Map, id).map_err(|e| Error::sys("BPF_MAP_GET_NEXT_ID", e))? {
        id = next;
        let fd = match sys::fd_by_id(ObjectKind::Map, id) {
            Ok(fd) => fd,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
            Err(e) => return Err(Error::sys(format!("BPF_MAP_GET_FD_BY_ID {id}"), e)),
        };
        let info = sys::map_info(fd.as_fd()).map_err(|e| Error::sys(format!("map {id}: BPF_OBJ_GET_INFO_BY_FD"), e))?;
        if info.map_type != MapType::STRUCT_OPS.0 {
            continue;
        }
        let (type_name, module) = ops_type(&info, kernel.as_deref(), &modules);
        let link_based = info.flags & uapi::BPF_F_LINK != 0;
        let link_id = links.iter().find(|(_, map)| *map == id).map(|(link, _)| *link);
        let registered = if link_based {
            link_id.is_some()
        } else {
            let map = sys::MapFd::from_fd(fd).map_err(|e| Error::sys(format!("struct_ops map {id}"), e))?;
            in_use(&map, id, info.value_size)?
        };
        out.push(RegisteredOps { map_id: id, name: info.name, type_name, module, link_based, link_id, registered });
    }
    Ok(out)
}

/// (link id, map id) of every struct_ops link. Links that go away while listed are skipped;
/// any other failure (no permission, say) is an error, not an empty answer.
fn struct_ops_links() -> Result<Vec<(u32, u32)>> {
    let gone = |e: &io::Error| e.raw_os_error() == Some(libc::ENOENT);
    let mut out = Vec::new();
    let mut id = 0;
    while let Some(next) = sys::next_id(ObjectKind::Link, id).map_err(|e| Error::sys("BPF_LINK_GET_NEXT_ID", e))? {
        id = next;
        let fd = match sys::fd_by_id(ObjectKind::Link, id) {
            Ok(fd) => fd,
            Err(e) if gone(&e) => continue,
            Err(e) => return Err(Error::sys(format!("BPF_LINK_GET_FD_BY_ID {id}"), e)),
        };
        match sys::link_info(fd.as_fd()) {
            Ok(sys::LinkInfo { struct_ops_map_id: Some(map), .. }) => out.push((id, map)),
            Ok(_) => {}
            Err(e) if gone(&e) => {}
            Err(e) => return Err(Error::sys(format!("link {id}: BPF_OBJ_GET_INFO_BY_FD"), e)),
        }
    }
    Ok(out)
}

/// The ops type of a struct_ops map: `bpf_struct_ops_<name>` in vmlinux or, when the map's
/// info names another kernel BTF object, in that module's BTF (from the shared registry).
fn ops_type(
    info: &sys::MapInfo,
    kernel: Option<&KernelBtf>,
    modules: &OnceCell<Vec<Arc<ModuleBtf>>>,
) -> (Option<String>, Option<String>) {
    let name_in = |btf: &Btf| {
        let t = btf.type_by_id(info.vmlinux_value_type_id).ok()?;
        let name = t.name().ok()?;
        (t.kind() == Kind::Struct).then(|| name.strip_prefix("bpf_struct_ops_").unwrap_or(name).to_owned())
    };
    let Some(kernel) = kernel else { return (None, None) };
    if info.vmlinux_btf_id != 0 {
        // Read once per listing, and only if some map's type is not vmlinux's.
        let modules = modules.get_or_init(|| kernel.modules().unwrap_or_default());
        if let Some(m) = modules.iter().find(|m| m.id == info.vmlinux_btf_id) {
            return (name_in(&m.btf), Some(m.name.clone()));
        }
    }
    (name_in(kernel.vmlinux()), None)
}

/// Whether a plain struct_ops map's element 0 is in use (registered): the value's state word
/// (after the refcount) is `BPF_STRUCT_OPS_STATE_INUSE`. A lookup error is reported.
fn in_use(map: &sys::MapFd, id: u32, value_size: u32) -> Result<bool> {
    let mut value = vec![0u8; value_size as usize];
    let found = map
        .lookup(&0u32.to_ne_bytes(), &mut value, 0)
        .map_err(|e| Error::sys(format!("struct_ops map {id}: lookup"), e))?;
    Ok(found && value.get(4..8).and_then(|s| s.try_into().ok()).map(u32::from_ne_bytes) == Some(1))
}

/// Unregisters the struct_ops map with kernel id `map_id`, or named `name`: detaches its link
/// (link-based maps) or deletes its element (plain ones). Returns what it was.
pub fn unregister(which: &str) -> Result<RegisteredOps> {
    let all = list()?;
    // An id names one map; a name may name several.
    let by_id: Vec<&RegisteredOps> = match which.parse::<u32>() {
        Ok(id) => all.iter().filter(|o| o.map_id == id).collect(),
        Err(_) => Vec::new(),
    };
    let matching = if by_id.is_empty() { all.iter().filter(|o| o.name == which).collect() } else { by_id };
    let ops = match matching.as_slice() {
        [one] => (*one).clone(),
        [] => {
            return Err(Error::not_found("struct_ops map", which, all.iter().map(|o| o.name.as_str())));
        }
        several => {
            let ids: Vec<String> = several.iter().map(|o| o.map_id.to_string()).collect();
            return Err(Error::NotFound {
                what: "single struct_ops map",
                name: which.to_owned(),
                hint: format!(" (several have that name: ids {}; give the id)", ids.join(", ")),
            });
        }
    };
    if !ops.registered {
        return Err(Error::Sys {
            op: format!("unregister struct_ops map {} ({})", ops.name, ops.map_id),
            source: io::Error::new(io::ErrorKind::NotFound, "it is not registered"),
        });
    }
    let op = format!("unregister struct_ops map {} ({})", ops.name, ops.map_id);
    match ops.link_id {
        Some(link) => {
            let fd = sys::fd_by_id(ObjectKind::Link, link).map_err(|e| Error::sys(op.clone(), e))?;
            sys::link_detach(fd.as_fd()).map_err(|source| {
                let op = if source.raw_os_error() == Some(libc::EOPNOTSUPP) {
                    // Detaching struct_ops links came after the links themselves (Linux 6.9/6.10).
                    format!(
                        "{op} (this kernel cannot detach a struct_ops link: remove its pin, or end the process holding it)"
                    )
                } else {
                    op
                };
                Error::Sys { op, source }
            })?;
        }
        None => {
            let fd = sys::fd_by_id(ObjectKind::Map, ops.map_id).map_err(|e| Error::sys(op.clone(), e))?;
            let map = sys::MapFd::from_fd(fd).map_err(|e| Error::sys(op.clone(), e))?;
            map.delete(&0u32.to_ne_bytes()).map_err(|e| Error::sys(op, e))?;
        }
    }
    Ok(ops)
}
