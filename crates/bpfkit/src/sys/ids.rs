//! Walking the kernel's BPF objects by id (`BPF_*_GET_NEXT_ID`, `BPF_*_GET_FD_BY_ID`) and what
//! `BPF_OBJ_GET_INFO_BY_FD` says about maps and links: how tools see objects other processes
//! created (`bpfkit struct-ops list`, `bpftool map show`).

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};

use super::obj::{c_name, obj_info};
use super::uapi;
use super::{bpf, bpf_fd, zeroed_attr};

/// A kind of kernel BPF object with an id space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    /// Programs.
    Prog,
    /// Maps.
    Map,
    /// BTF objects (vmlinux, modules, programs' BTF).
    Btf,
    /// Links.
    Link,
}

impl ObjectKind {
    fn commands(self) -> (uapi::bpf_cmd, uapi::bpf_cmd) {
        match self {
            ObjectKind::Prog => (uapi::BPF_PROG_GET_NEXT_ID, uapi::BPF_PROG_GET_FD_BY_ID),
            ObjectKind::Map => (uapi::BPF_MAP_GET_NEXT_ID, uapi::BPF_MAP_GET_FD_BY_ID),
            ObjectKind::Btf => (uapi::BPF_BTF_GET_NEXT_ID, uapi::BPF_BTF_GET_FD_BY_ID),
            ObjectKind::Link => (uapi::BPF_LINK_GET_NEXT_ID, uapi::BPF_LINK_GET_FD_BY_ID),
        }
    }
}

/// The next id of `kind` after `id` (0 starts), `None` at the end.
pub fn next_id(kind: ObjectKind, id: u32) -> io::Result<Option<u32>> {
    let mut attr = zeroed_attr();
    attr.__bindgen_anon_6.__bindgen_anon_1.start_id = id;
    match bpf(kind.commands().0, &mut attr) {
        // SAFETY: reading a u32 the kernel filled in (plain data).
        Ok(_) => Ok(Some(unsafe { attr.__bindgen_anon_6.next_id })),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

/// An fd for object `id` of `kind`. `ENOENT` means it went away since it was listed.
pub fn fd_by_id(kind: ObjectKind, id: u32) -> io::Result<OwnedFd> {
    let mut attr = zeroed_attr();
    // The id field is one union for every kind (prog_id, map_id, btf_id, link_id).
    attr.__bindgen_anon_6.__bindgen_anon_1.start_id = id;
    bpf_fd(kind.commands().1, &mut attr)
}

/// What the kernel says about a map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapInfo {
    /// Kernel id.
    pub id: u32,
    /// `BPF_MAP_TYPE_*`.
    pub map_type: u32,
    /// The name given at creation (at most 15 bytes).
    pub name: String,
    /// `BPF_F_*` creation flags.
    pub flags: u32,
    /// Value size in bytes.
    pub value_size: u32,
    /// For struct_ops maps: the kernel value type (`bpf_struct_ops_<name>`) in kernel BTF.
    pub vmlinux_value_type_id: u32,
    /// For struct_ops maps: the id of the kernel BTF object holding that type (0 on kernels that
    /// do not say; then it is vmlinux).
    pub vmlinux_btf_id: u32,
}

/// `BPF_OBJ_GET_INFO_BY_FD` on a map.
pub fn map_info(map: BorrowedFd<'_>) -> io::Result<MapInfo> {
    let mut info = uapi::bpf_map_info::default();
    obj_info(map, &mut info)?;
    Ok(MapInfo {
        id: info.id,
        map_type: info.type_,
        name: c_name(&info.name),
        flags: info.map_flags,
        value_size: info.value_size,
        vmlinux_value_type_id: info.btf_vmlinux_value_type_id,
        vmlinux_btf_id: info.btf_vmlinux_id,
    })
}

/// What the kernel says about a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkInfo {
    /// Kernel id.
    pub id: u32,
    /// `BPF_LINK_TYPE_*`.
    pub link_type: u32,
    /// The program's id (0 for struct_ops links, which hold a map).
    pub prog_id: u32,
    /// For a struct_ops link: the map it registered.
    pub struct_ops_map_id: Option<u32>,
}

/// `BPF_OBJ_GET_INFO_BY_FD` on a link.
pub fn link_info(link: BorrowedFd<'_>) -> io::Result<LinkInfo> {
    let mut info = uapi::bpf_link_info::default();
    obj_info(link, &mut info)?;
    let struct_ops_map_id = if info.type_ == uapi::BPF_LINK_TYPE_STRUCT_OPS {
        // SAFETY: for a struct_ops link the kernel fills the union's `struct_ops` member; its
        // `u32` is plain data whatever was written.
        Some(unsafe { info.__bindgen_anon_1.struct_ops.map_id })
    } else {
        None
    };
    Ok(LinkInfo { id: info.id, link_type: info.type_, prog_id: info.prog_id, struct_ops_map_id })
}
