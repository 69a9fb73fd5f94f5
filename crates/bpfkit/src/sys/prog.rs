//! Program commands: `BPF_PROG_LOAD` (with the verifier log) and `BPF_PROG_TEST_RUN`.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};

use bpfkit_obj::insn::Insn;
use bpfkit_obj::{FuncInfo, LineInfo};

use super::uapi::{self, bpf_func_info, bpf_line_info};
use super::{bpf, bpf_fd, object_name, ptr_u64, zeroed_attr};

/// `BPF_PROG_LOAD` parameters.
#[derive(Debug, Clone)]
pub struct ProgLoad<'a> {
    /// `BPF_PROG_TYPE_*`.
    pub prog_type: u32,
    /// `BPF_*` attach type the program is verified for (0 when the type needs none).
    pub expected_attach_type: u32,
    /// Name the kernel shows (at most 15 bytes are kept).
    pub name: &'a str,
    /// Instructions; on a little-endian host the kernel reads them where they are (an
    /// [`Insn`] has `struct bpf_insn`'s layout there), on a big-endian one from a copy.
    pub insns: &'a [Insn],
    /// License string (`GPL` unlocks GPL-only helpers).
    pub license: &'a CStr,
    /// Kernel version (only very old kernels check it for kprobes).
    pub kern_version: u32,
    /// `BPF_F_*` load flags (sleepable, XDP frags, ...).
    pub prog_flags: u32,
    /// The object's BTF, required with func_info/line_info.
    pub prog_btf_fd: Option<BorrowedFd<'a>>,
    /// Function boundaries (instruction indexes) and their BTF FUNC types.
    pub func_info: &'a [FuncInfo],
    /// Source lines (instruction indexes).
    pub line_info: &'a [LineInfo],
    /// BTF id of the attach target (fentry/fexit/tp_btf/lsm/iter/struct_ops/freplace).
    pub attach_btf_id: u32,
    /// BTF object holding the target: a module's BTF fd (`None`: vmlinux).
    pub attach_btf_obj_fd: Option<BorrowedFd<'a>>,
    /// freplace: the program being extended (its fd).
    pub attach_prog_fd: Option<BorrowedFd<'a>>,
    /// fds that kfunc calls (`off`) and some ld_imm64 forms index; slot 0 is unused.
    pub fd_array: &'a [RawFd],
    /// Interface for offloaded programs (0: none).
    pub prog_ifindex: u32,
}

/// `BPF_PROG_LOAD`. `log` receives the verifier log at `log_level` (0: no log, `log` unused).
/// On success also returns the size the complete log needed (kernels since 6.4 report it; 0
/// otherwise), so a caller can size the buffer of a retry exactly.
pub fn prog_load(p: &ProgLoad<'_>, log_level: u32, log: &mut [u8]) -> (io::Result<OwnedFd>, u32) {
    // `struct bpf_insn` is 8 bytes, code, the register bitfields, off and imm, in host order:
    // on a little-endian host exactly `Insn` (destination in the low nibble).
    const _: () = assert!(std::mem::size_of::<Insn>() == 8 && std::mem::align_of::<Insn>() <= 8);
    // The records the kernel reads are the object model's own (`repr(C)`, the same fields).
    const _: () = assert!(std::mem::size_of::<FuncInfo>() == std::mem::size_of::<bpf_func_info>());
    const _: () = assert!(std::mem::size_of::<LineInfo>() == std::mem::size_of::<bpf_line_info>());
    #[cfg(target_endian = "big")]
    let native = bpfkit_obj::insn::encode_all(p.insns, bpfkit_obj::Endian::Big);
    #[cfg(target_endian = "big")]
    let insns_ptr = ptr_u64(native.as_ptr());
    #[cfg(target_endian = "little")]
    let insns_ptr = ptr_u64(p.insns.as_ptr());
    let count = |n: usize, what: &str| {
        u32::try_from(n).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, format!("too many {what}")))
    };
    let counts = (|| {
        Ok::<_, io::Error>((
            count(p.insns.len(), "instructions")?,
            count(p.func_info.len(), "func_info records")?,
            count(p.line_info.len(), "line_info records")?,
            count(log.len(), "log bytes")?,
        ))
    })();
    let (insn_cnt, func_cnt, line_cnt, log_size) = match counts {
        Ok(c) => c,
        Err(e) => return (Err(e), 0),
    };
    let mut attr = zeroed_attr();
    // SAFETY: writing fields of a zeroed plain-data union (no reads).
    let a = unsafe { &mut attr.__bindgen_anon_3 };
    a.prog_type = p.prog_type;
    a.expected_attach_type = p.expected_attach_type;
    a.prog_name = object_name(p.name);
    a.insn_cnt = insn_cnt;
    a.insns = insns_ptr;
    a.license = ptr_u64(p.license.as_ptr());
    a.kern_version = p.kern_version;
    a.prog_flags = p.prog_flags;
    a.prog_ifindex = p.prog_ifindex;
    a.prog_btf_fd = p.prog_btf_fd.map_or(0, |fd| fd.as_raw_fd() as u32);
    if !p.func_info.is_empty() {
        a.func_info_rec_size = std::mem::size_of::<bpf_func_info>() as u32;
        a.func_info = ptr_u64(p.func_info.as_ptr());
        a.func_info_cnt = func_cnt;
    }
    if !p.line_info.is_empty() {
        a.line_info_rec_size = std::mem::size_of::<bpf_line_info>() as u32;
        a.line_info = ptr_u64(p.line_info.as_ptr());
        a.line_info_cnt = line_cnt;
    }
    a.attach_btf_id = p.attach_btf_id;
    if let Some(fd) = p.attach_prog_fd.or(p.attach_btf_obj_fd) {
        a.__bindgen_anon_1.attach_prog_fd = fd.as_raw_fd() as u32;
    }
    if !p.fd_array.is_empty() {
        a.fd_array = ptr_u64(p.fd_array.as_ptr());
    }
    if log_level != 0 && !log.is_empty() {
        a.log_level = log_level;
        a.log_size = log_size;
        a.log_buf = ptr_u64(log.as_mut_ptr());
    }
    // The kernel may fail with EAGAIN under memory pressure; libbpf retries a few times too.
    let mut result = bpf_fd(uapi::BPF_PROG_LOAD, &mut attr);
    for _ in 0..4 {
        match &result {
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => result = bpf_fd(uapi::BPF_PROG_LOAD, &mut attr),
            _ => break,
        }
    }
    // SAFETY: reading a u32 field of the union the kernel may have written (plain data).
    let true_size = unsafe { attr.__bindgen_anon_3.log_true_size };
    (result, true_size)
}

/// `BPF_PROG_TEST_RUN` inputs: run a program once (or `repeat` times) on a packet or context
/// without attaching it.
#[derive(Debug, Default)]
pub struct TestRun<'a> {
    /// Packet data (XDP, skb programs).
    pub data_in: &'a [u8],
    /// Room for the packet as the program left it.
    pub data_out: Option<&'a mut [u8]>,
    /// Context (syscall programs: their argument struct). Mutable because for syscall
    /// programs the kernel copies the context back here after the run: results a program
    /// passes back through its argument struct (as scx's arena allocators do) land in it.
    pub ctx_in: &'a mut [u8],
    /// Room for the context as the program left it.
    pub ctx_out: Option<&'a mut [u8]>,
    /// Repetitions (0 = 1).
    pub repeat: u32,
    /// `BPF_F_TEST_*` flags.
    pub flags: u32,
    /// CPU to run on (with `BPF_F_TEST_RUN_ON_CPU`).
    pub cpu: u32,
}

/// What a test run returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestRunResult {
    /// The program's return value.
    pub retval: u32,
    /// Bytes of packet data the kernel wrote to `data_out`.
    pub data_size_out: u32,
    /// Bytes of context written to `ctx_out`.
    pub ctx_size_out: u32,
    /// Average run time in nanoseconds.
    pub duration_ns: u32,
}

/// `BPF_PROG_TEST_RUN` on `prog`.
pub fn prog_test_run(prog: BorrowedFd<'_>, run: &mut TestRun<'_>) -> io::Result<TestRunResult> {
    let len32 = |n: usize| {
        u32::try_from(n).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "test run buffer too large"))
    };
    let mut attr = zeroed_attr();
    // SAFETY: writing fields of a zeroed plain-data union (no reads).
    let t = unsafe { &mut attr.test };
    t.prog_fd = prog.as_raw_fd() as u32;
    if !run.data_in.is_empty() {
        t.data_in = ptr_u64(run.data_in.as_ptr());
        t.data_size_in = len32(run.data_in.len())?;
    }
    if let Some(out) = run.data_out.as_deref_mut() {
        t.data_out = ptr_u64(out.as_mut_ptr());
        t.data_size_out = len32(out.len())?;
    }
    if !run.ctx_in.is_empty() {
        t.ctx_in = ptr_u64(run.ctx_in.as_mut_ptr());
        t.ctx_size_in = len32(run.ctx_in.len())?;
    }
    if let Some(out) = run.ctx_out.as_deref_mut() {
        t.ctx_out = ptr_u64(out.as_mut_ptr());
        t.ctx_size_out = len32(out.len())?;
    }
    t.repeat = run.repeat;
    t.flags = run.flags;
    t.cpu = run.cpu;
    bpf(uapi::BPF_PROG_TEST_RUN, &mut attr)?;
    // SAFETY: reading fields of the union the kernel filled in (plain data).
    let t = unsafe { attr.test };
    Ok(TestRunResult {
        retval: t.retval,
        data_size_out: t.data_size_out,
        ctx_size_out: t.ctx_size_out,
        duration_ns: t.duration,
    })
}
