//! Object commands shared by maps, programs, links and BTF: pinning in bpffs and
//! `BPF_OBJ_GET_INFO_BY_FD`.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use super::uapi;
use super::{bpf, bpf_fd, ptr_u64, zeroed_attr};

/// `BPF_OBJ_PIN`: pin `fd` at `path` in a bpffs.
pub fn obj_pin(fd: BorrowedFd<'_>, path: &CStr) -> io::Result<()> {
    let mut attr = zeroed_attr();
    // SAFETY: writing fields of a zeroed plain-data union (no reads).
    let a = unsafe { &mut attr.__bindgen_anon_4 };
    a.pathname = ptr_u64(path.as_ptr());
    a.bpf_fd = fd.as_raw_fd() as u32;
    bpf(uapi::BPF_OBJ_PIN, &mut attr).map(drop)
}

/// `BPF_OBJ_GET`: open the object pinned at `path`.
pub fn obj_get(path: &CStr) -> io::Result<OwnedFd> {
    let mut attr = zeroed_attr();
    attr.__bindgen_anon_4.pathname = ptr_u64(path.as_ptr());
    bpf_fd(uapi::BPF_OBJ_GET, &mut attr)
}

/// Info structs `BPF_OBJ_GET_INFO_BY_FD` fills in. Implemented only for the plain-data
/// `bpf_*_info` structs of the UAPI, whose all-zero value means "no user buffers attached".
pub(crate) trait ObjInfo: Default {}
impl ObjInfo for uapi::bpf_map_info {}
impl ObjInfo for uapi::bpf_prog_info {}
impl ObjInfo for uapi::bpf_link_info {}

/// `BPF_OBJ_GET_INFO_BY_FD` into `info`. The kernel writes at most `size_of::<T>()` bytes; user
/// buffers referenced from `info` must be set by the caller (see [`super::btf_info`]).
pub(crate) fn obj_info<T: ObjInfo>(fd: BorrowedFd<'_>, info: &mut T) -> io::Result<()> {
    let mut attr = zeroed_attr();
    // SAFETY: writing fields of a zeroed plain-data union (no reads).
    let i = unsafe { &mut attr.info };
    i.bpf_fd = fd.as_raw_fd() as u32;
    i.info_len = std::mem::size_of::<T>() as u32;
    i.info = ptr_u64(info as *mut T);
    bpf(uapi::BPF_OBJ_GET_INFO_BY_FD, &mut attr).map(drop)
}

/// The name (at most 15 bytes) and id of a loaded program, as the kernel reports them.
pub fn prog_info_name(prog: BorrowedFd<'_>) -> io::Result<(String, u32)> {
    let mut info = uapi::bpf_prog_info::default();
    obj_info(prog, &mut info)?;
    Ok((c_name(&info.name), info.id))
}

/// A NUL-padded `char name[16]` of a `bpf_*_info` struct as a string.
pub(crate) fn c_name(name: &[std::os::raw::c_char]) -> String {
    let bytes: Vec<u8> = name.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}
