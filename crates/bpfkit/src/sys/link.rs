//! Attachment commands: `BPF_LINK_CREATE` (and update/detach), `BPF_RAW_TRACEPOINT_OPEN`,
//! legacy `BPF_PROG_ATTACH`/`BPF_PROG_DETACH`, and `BPF_ITER_CREATE`.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use super::uapi;
use super::{bpf, bpf_fd, ptr_u64, zeroed_attr};

/// What a link attaches to (`BPF_LINK_CREATE`'s target and type-specific fields).
#[derive(Debug, Clone)]
pub enum LinkTarget<'a> {
    /// An fd target: a cgroup directory, a perf event, a netns, or none (`0`) for tracing and
    /// iterators.
    Fd(Option<BorrowedFd<'a>>),
    /// A network interface (XDP, tcx).
    Ifindex(u32),
    /// A kprobe_multi link over kernel symbols (NUL-terminated names) or addresses.
    KprobeMulti {
        /// Target function names.
        symbols: &'a [&'a CStr],
        /// `BPF_F_KPROBE_MULTI_RETURN` for return probes.
        flags: u32,
    },
}

/// `BPF_LINK_CREATE` parameters.
#[derive(Debug, Clone)]
pub struct LinkCreate<'a> {
    /// The program.
    pub prog: BorrowedFd<'a>,
    /// Where it attaches.
    pub target: LinkTarget<'a>,
    /// `BPF_*` attach type.
    pub attach_type: u32,
    /// Link flags (e.g. `XDP_FLAGS_*` for XDP).
    pub flags: u32,
    /// Iterator parameters (`union bpf_iter_link_info`), raw; empty for none.
    pub iter_info: &'a [u8],
    /// Tracing: a different BTF target than the one the program was loaded for (0: that one).
    pub target_btf_id: u32,
}

/// `BPF_LINK_CREATE`: the link's fd; closing it (the last reference) detaches.
pub fn link_create(l: &LinkCreate<'_>) -> io::Result<OwnedFd> {
    let mut attr = zeroed_attr();
    // Keeps the symbol pointer array alive until the call returns.
    let symbol_ptrs: Vec<u64>;
    // SAFETY: writing fields of a zeroed plain-data union (no reads).
    let a = unsafe { &mut attr.link_create };
    a.__bindgen_anon_1.prog_fd = l.prog.as_raw_fd() as u32;
    a.attach_type = l.attach_type;
    a.flags = l.flags;
    match &l.target {
        LinkTarget::Fd(fd) => a.__bindgen_anon_2.target_fd = fd.map_or(0, |fd| fd.as_raw_fd() as u32),
        LinkTarget::Ifindex(ifindex) => a.__bindgen_anon_2.target_ifindex = *ifindex,
        LinkTarget::KprobeMulti { symbols, flags } => {
            symbol_ptrs = symbols.iter().map(|s| ptr_u64(s.as_ptr())).collect();
            let cnt = u32::try_from(symbol_ptrs.len())
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "too many kprobe_multi symbols"))?;
            a.__bindgen_anon_3.kprobe_multi.flags = *flags;
            a.__bindgen_anon_3.kprobe_multi.cnt = cnt;
            a.__bindgen_anon_3.kprobe_multi.syms = ptr_u64(symbol_ptrs.as_ptr());
        }
    }
    if !l.iter_info.is_empty() {
        let len = u32::try_from(l.iter_info.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "iterator info too large"))?;
        a.__bindgen_anon_3.__bindgen_anon_1.iter_info = ptr_u64(l.iter_info.as_ptr());
        a.__bindgen_anon_3.__bindgen_anon_1.iter_info_len = len;
    } else if l.target_btf_id != 0 {
        a.__bindgen_anon_3.target_btf_id = l.target_btf_id;
    }
    bpf_fd(uapi::BPF_LINK_CREATE, &mut attr)
}

/// `BPF_LINK_UPDATE`: replace a link's program, or a struct_ops link's map (`new_prog_fd` and
/// `new_map_fd` share one field).
pub fn link_update(link: BorrowedFd<'_>, new: BorrowedFd<'_>) -> io::Result<()> {
    let mut attr = zeroed_attr();
    // SAFETY: writing fields of a zeroed plain-data union (no reads).
    let u = unsafe { &mut attr.link_update };
    u.link_fd = link.as_raw_fd() as u32;
    u.__bindgen_anon_1.new_prog_fd = new.as_raw_fd() as u32;
    bpf(uapi::BPF_LINK_UPDATE, &mut attr).map(drop)
}

/// `BPF_LINK_DETACH`: detach now, even while other fds of the link remain open.
pub fn link_detach(link: BorrowedFd<'_>) -> io::Result<()> {
    let mut attr = zeroed_attr();
    attr.link_detach.link_fd = link.as_raw_fd() as u32;
    bpf(uapi::BPF_LINK_DETACH, &mut attr).map(drop)
}

/// `BPF_RAW_TRACEPOINT_OPEN`: attach a raw tracepoint program to `name`, or (with `None`) a
/// tracing program (fentry/fexit/tp_btf/lsm) to the target it was loaded for.
pub fn raw_tracepoint_open(prog: BorrowedFd<'_>, name: Option<&CStr>) -> io::Result<OwnedFd> {
    let mut attr = zeroed_attr();
    // SAFETY: writing fields of a zeroed plain-data union (no reads).
    let r = unsafe { &mut attr.raw_tracepoint };
    r.name = name.map_or(0, |n| ptr_u64(n.as_ptr()));
    r.prog_fd = prog.as_raw_fd() as u32;
    bpf_fd(uapi::BPF_RAW_TRACEPOINT_OPEN, &mut attr)
}

/// `BPF_PROG_ATTACH` (legacy cgroup and socket-map attachment, without a link).
pub fn prog_attach(prog: BorrowedFd<'_>, target: BorrowedFd<'_>, attach_type: u32, flags: u32) -> io::Result<()> {
    let mut attr = zeroed_attr();
    // SAFETY: writing fields of a zeroed plain-data union (no reads).
    let a = unsafe { &mut attr.__bindgen_anon_5 };
    a.__bindgen_anon_1.target_fd = target.as_raw_fd() as u32;
    a.attach_bpf_fd = prog.as_raw_fd() as u32;
    a.attach_type = attach_type;
    a.attach_flags = flags;
    bpf(uapi::BPF_PROG_ATTACH, &mut attr).map(drop)
}

/// `BPF_PROG_DETACH` of `prog` from `target`.
pub fn prog_detach(prog: BorrowedFd<'_>, target: BorrowedFd<'_>, attach_type: u32) -> io::Result<()> {
    let mut attr = zeroed_attr();
    // SAFETY: writing fields of a zeroed plain-data union (no reads).
    let a = unsafe { &mut attr.__bindgen_anon_5 };
    a.__bindgen_anon_1.target_fd = target.as_raw_fd() as u32;
    a.attach_bpf_fd = prog.as_raw_fd() as u32;
    a.attach_type = attach_type;
    bpf(uapi::BPF_PROG_DETACH, &mut attr).map(drop)
}

/// `BPF_ITER_CREATE`: a readable fd producing one run of an iterator link.
pub fn iter_create(link: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    let mut attr = zeroed_attr();
    attr.iter_create.link_fd = link.as_raw_fd() as u32;
    bpf_fd(uapi::BPF_ITER_CREATE, &mut attr)
}
