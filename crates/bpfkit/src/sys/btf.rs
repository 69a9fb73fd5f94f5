//! BTF commands: load an object's BTF into the kernel, and walk the kernel's BTF objects (vmlinux
//! and one per module with BTF) through the id API.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use super::uapi;
use super::{bpf, bpf_fd, ptr_u64, zeroed_attr};

/// `BPF_BTF_LOAD` of `bytes`; on failure `log` (if not empty) holds the kernel's BTF log at
/// level 1.
pub fn btf_load(bytes: &[u8], log: &mut [u8]) -> io::Result<OwnedFd> {
    let size = u32::try_from(bytes.len()).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "BTF too large"))?;
    let mut attr = zeroed_attr();
    // SAFETY: writing fields of a zeroed plain-data union (no reads).
    let b = unsafe { &mut attr.__bindgen_anon_7 };
    b.btf = ptr_u64(bytes.as_ptr());
    b.btf_size = size;
    if !log.is_empty() {
        b.btf_log_buf = ptr_u64(log.as_mut_ptr());
        b.btf_log_size = u32::try_from(log.len()).unwrap_or(u32::MAX);
        b.btf_log_level = 1;
    }
    bpf_fd(uapi::BPF_BTF_LOAD, &mut attr)
}

/// `BPF_BTF_GET_NEXT_ID`: the next kernel BTF object id after `id` (0 starts), `None` at the end.
pub fn btf_get_next_id(id: u32) -> io::Result<Option<u32>> {
    super::ids::next_id(super::ids::ObjectKind::Btf, id)
}

/// `BPF_BTF_GET_FD_BY_ID`. `ENOENT` means the object went away (a module was unloaded).
pub fn btf_get_fd_by_id(id: u32) -> io::Result<OwnedFd> {
    super::ids::fd_by_id(super::ids::ObjectKind::Btf, id)
}

/// What the kernel says about one of its BTF objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BtfInfo {
    /// Kernel id of the BTF object.
    pub id: u32,
    /// `vmlinux`, a module's name, or empty for a program's BTF.
    pub name: String,
    /// Kernel BTF (vmlinux or a module) rather than one loaded by a program.
    pub kernel_btf: bool,
    /// Size of the raw BTF in bytes.
    pub size: u32,
    /// The raw BTF, when asked for.
    pub bytes: Option<Vec<u8>>,
}

/// `BPF_OBJ_GET_INFO_BY_FD` on a BTF fd; with `with_bytes`, also the raw BTF (fetched with the
/// size the first call reported, and again if the object grew in between).
pub fn btf_info(fd: BorrowedFd<'_>, with_bytes: bool) -> io::Result<BtfInfo> {
    let mut name = [0u8; 64];
    let mut bytes: Vec<u8> = Vec::new();
    for _ in 0..3 {
        let mut info =
            uapi::bpf_btf_info { name: ptr_u64(name.as_mut_ptr()), name_len: name.len() as u32, ..Default::default() };
        if with_bytes && !bytes.is_empty() {
            info.btf = ptr_u64(bytes.as_mut_ptr());
            info.btf_size = bytes.len() as u32;
        }
        let mut attr = zeroed_attr();
        // SAFETY: writing fields of a zeroed plain-data union (no reads).
        let i = unsafe { &mut attr.info };
        i.bpf_fd = fd.as_raw_fd() as u32;
        i.info_len = std::mem::size_of::<uapi::bpf_btf_info>() as u32;
        i.info = ptr_u64(&mut info as *mut uapi::bpf_btf_info);
        bpf(uapi::BPF_OBJ_GET_INFO_BY_FD, &mut attr)?;
        let size = info.btf_size as usize;
        if with_bytes && bytes.len() != size {
            // First round (or the object changed size): size the buffer and ask again.
            bytes = vec![0u8; size];
            continue;
        }
        let len = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        return Ok(BtfInfo {
            id: info.id,
            name: String::from_utf8_lossy(&name[..len]).into_owned(),
            kernel_btf: info.kernel_btf != 0,
            size: info.btf_size,
            bytes: with_bytes.then_some(bytes),
        });
    }
    Err(io::Error::other("BTF object kept changing size while being read"))
}
