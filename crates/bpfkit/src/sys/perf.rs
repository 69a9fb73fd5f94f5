//! `perf_event_open(2)` and the perf ioctls BPF uses: tracepoints, kprobes and uprobes are perf
//! events a program is attached to (through a `BPF_PERF_EVENT` link, or on old kernels with
//! `PERF_EVENT_IOC_SET_BPF`), and perf buffers are per-CPU `bpf-output` events.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use super::uapi;
use super::{owned_fd, ptr_u64};

/// The perf event to open: the few `perf_event_attr` fields BPF attachments use.
#[derive(Debug, Clone, Default)]
pub struct PerfEventAttr<'a> {
    /// `PERF_TYPE_*`, or a dynamic PMU type (kprobe, uprobe) read from sysfs.
    pub type_: u32,
    /// Event id (tracepoint id; for kprobe/uprobe PMUs the retprobe bit).
    pub config: u64,
    /// kprobe PMU: the function name; uprobe PMU: the binary path.
    pub name: Option<&'a CStr>,
    /// kprobe PMU: offset into the function (or an address when `name` is `None`); uprobe:
    /// file offset.
    pub offset: u64,
    /// Sampling period (1 for every event).
    pub sample_period: u64,
    /// `PERF_SAMPLE_*`.
    pub sample_type: u64,
    /// Wake readers after this many events.
    pub wakeup_events: u32,
    /// Start disabled.
    pub disabled: bool,
}

/// `perf_event_open(attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC)`.
pub fn perf_event_open(attr: &PerfEventAttr<'_>, pid: i32, cpu: i32) -> io::Result<OwnedFd> {
    let mut raw = uapi::perf_event_attr {
        type_: attr.type_,
        size: std::mem::size_of::<uapi::perf_event_attr>() as u32,
        config: attr.config,
        sample_type: attr.sample_type,
        ..Default::default()
    };
    raw.__bindgen_anon_1.sample_period = attr.sample_period;
    raw.__bindgen_anon_2.wakeup_events = attr.wakeup_events;
    raw.__bindgen_anon_3.config1 = attr.name.map_or(0, |n| ptr_u64(n.as_ptr()));
    raw.__bindgen_anon_4.config2 = attr.offset;
    raw.set_disabled(attr.disabled as u64);
    // SAFETY: `raw` is a valid perf_event_attr whose `size` is its own size, and the name it
    // points to (if any) outlives the call; the kernel only reads them.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            &raw as *const uapi::perf_event_attr,
            pid as libc::c_int,
            cpu as libc::c_int,
            -1 as libc::c_int,
            libc::c_ulong::from(uapi::PERF_FLAG_FD_CLOEXEC),
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    owned_fd(fd)
}

/// `_IO('$', 0)`.
const PERF_EVENT_IOC_ENABLE: libc::c_ulong = 0x2400;
/// `_IO('$', 1)`.
const PERF_EVENT_IOC_DISABLE: libc::c_ulong = 0x2401;
/// `_IOW('$', 8, __u32)`.
const PERF_EVENT_IOC_SET_BPF: libc::c_ulong = 0x4004_2408;

fn ioctl(fd: BorrowedFd<'_>, request: libc::c_ulong, arg: libc::c_ulong) -> io::Result<()> {
    // SAFETY: the perf ioctls used here take an integer argument (or none); no memory is passed.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), request, arg) };
    if r < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// `PERF_EVENT_IOC_ENABLE`.
pub fn perf_event_ioc_enable(fd: BorrowedFd<'_>) -> io::Result<()> {
    ioctl(fd, PERF_EVENT_IOC_ENABLE, 0)
}

/// `PERF_EVENT_IOC_DISABLE`.
pub fn perf_event_ioc_disable(fd: BorrowedFd<'_>) -> io::Result<()> {
    ioctl(fd, PERF_EVENT_IOC_DISABLE, 0)
}

/// `PERF_EVENT_IOC_SET_BPF`: attach `prog` to the event (kernels without `BPF_PERF_EVENT` links).
pub fn perf_event_ioc_set_bpf(fd: BorrowedFd<'_>, prog: BorrowedFd<'_>) -> io::Result<()> {
    ioctl(fd, PERF_EVENT_IOC_SET_BPF, prog.as_raw_fd() as libc::c_ulong)
}
