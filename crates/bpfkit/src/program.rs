//! A program the kernel accepted, and the ways to attach or run it. `attach` follows what the
//! `SEC()` name says (a tracepoint, a kernel function, a kprobe, an iterator); targets that a
//! section cannot name (an interface, a cgroup, a socket) have their own methods.

use std::ffi::CString;
use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use bpfkit_obj::{AttachTarget, AttachType, ProgramSection, ProgramType};

use crate::attach;
use crate::error::{Error, Result};
use crate::link::{Link, LinkKind};
use crate::pin::path_cstring;
use crate::sys::{self, LinkCreate, LinkTarget, TestRun, TestRunResult};

/// A loaded program.
#[derive(Debug)]
pub struct Program {
    pub(crate) name: String,
    pub(crate) section: String,
    pub(crate) kind: ProgramSection,
    pub(crate) fd: OwnedFd,
}

impl Program {
    /// The function name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The `SEC()` name.
    pub fn section(&self) -> &str {
        &self.section
    }

    /// The program type it was loaded as.
    pub fn program_type(&self) -> ProgramType {
        self.kind.prog_type
    }

    /// The attach type it was verified for, if any.
    pub fn expected_attach_type(&self) -> Option<AttachType> {
        self.kind.expected_attach_type
    }

    /// Where its section says it attaches.
    pub fn attach_target(&self) -> &AttachTarget {
        &self.kind.target
    }

    pub(crate) fn attach_error(&self, target: Option<String>, why: impl Into<String>) -> Error {
        Error::Attach { program: self.name.clone(), target, why: why.into() }
    }

    /// Attaches where the section name says: `tracepoint/CAT/NAME`, `raw_tp/NAME`,
    /// `fentry|fexit|fmod_ret|tp_btf|lsm/...` (the target chosen at load), `kprobe/FUNC[+OFF]`,
    /// `kretprobe/FUNC`, `kprobe.multi/GLOB`, `ksyscall/NAME`. Iterators use
    /// [`attach_iter`](Self::attach_iter); XDP, tc, cgroup and socket programs need their target.
    pub fn attach(&self) -> Result<Link> {
        match &self.kind.target {
            AttachTarget::Tracepoint { category, name } => self.attach_tracepoint(category, name),
            AttachTarget::RawTracepoint(name) => self.attach_raw_tracepoint(name),
            AttachTarget::Kprobe { function, offset, retprobe } => self.attach_kprobe(function, *offset, *retprobe),
            AttachTarget::KprobeMulti { pattern, retprobe } => self.attach_kprobe_multi(pattern, *retprobe),
            AttachTarget::Ksyscall { syscall, retprobe } => {
                self.attach_kprobe(&attach::syscall_function(syscall), 0, *retprobe)
            }
            AttachTarget::Btf { .. }
                if matches!(self.kind.prog_type, ProgramType::TRACING | ProgramType::LSM)
                    && self.kind.expected_attach_type != Some(AttachType::TRACE_ITER) =>
            {
                self.attach_btf()
            }
            AttachTarget::Btf { .. } => Err(self.attach_error(None, "an iterator: use attach_iter()")),
            target => Err(self.attach_error(
                None,
                format!(
                    "SEC(\"{}\") names no attach point this method can use ({target:?}); use the \
                     attach_* method for its target (attach_xdp, attach_tcx, attach_cgroup, attach_socket, ...)",
                    self.section
                ),
            )),
        }
    }

    /// Attaches to tracepoint `category/name` (a perf event on its tracefs id).
    pub fn attach_tracepoint(&self, category: &str, name: &str) -> Result<Link> {
        let target = format!("tracepoint {category}/{name}");
        let id = attach::tracepoint_id(category, name).map_err(|why| self.attach_error(Some(target.clone()), why))?;
        let event = sys::perf_event_open(
            &sys::PerfEventAttr {
                type_: sys::uapi::PERF_TYPE_TRACEPOINT,
                config: id,
                sample_period: 1,
                wakeup_events: 1,
                ..Default::default()
            },
            -1,
            0,
        )
        .map_err(|e| self.attach_error(Some(target.clone()), format!("perf_event_open: {e}")))?;
        self.attach_perf_event_fd(event, &target)
    }

    /// Attaches to the perf event `event` (tracepoint, kprobe or hardware/software event).
    pub fn attach_perf_event(&self, event: OwnedFd) -> Result<Link> {
        self.attach_perf_event_fd(event, "perf event")
    }

    fn attach_perf_event_fd(&self, event: OwnedFd, target: &str) -> Result<Link> {
        let create = LinkCreate {
            prog: self.fd.as_fd(),
            target: LinkTarget::Fd(Some(event.as_fd())),
            attach_type: sys::uapi::BPF_PERF_EVENT,
            flags: 0,
            iter_info: &[],
            target_btf_id: 0,
        };
        match sys::link_create(&create) {
            Ok(link) => Ok(Link::new(&self.name, LinkKind::PerfEvent { event, link: Some(link) })),
            // Kernels before 5.15 have no perf event links: put the program on the event.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                sys::perf_event_ioc_set_bpf(event.as_fd(), self.fd.as_fd())
                    .and_then(|()| sys::perf_event_ioc_enable(event.as_fd()))
                    .map_err(|e| self.attach_error(Some(target.to_owned()), format!("PERF_EVENT_IOC_SET_BPF: {e}")))?;
                Ok(Link::new(&self.name, LinkKind::PerfEvent { event, link: None }))
            }
            Err(e) => Err(self.attach_error(Some(target.to_owned()), format!("BPF_LINK_CREATE: {e}"))),
        }
    }

    /// Attaches a raw tracepoint program to `name`.
    pub fn attach_raw_tracepoint(&self, name: &str) -> Result<Link> {
        let target = format!("raw tracepoint {name}");
        let c = CString::new(name).map_err(|_| self.attach_error(Some(target.clone()), "name contains NUL"))?;
        let fd = sys::raw_tracepoint_open(self.fd.as_fd(), Some(&c))
            .map_err(|e| self.attach_error(Some(target), format!("BPF_RAW_TRACEPOINT_OPEN: {e}")))?;
        Ok(Link::new(&self.name, LinkKind::Bpf(fd)))
    }

    /// Attaches a tracing program (fentry/fexit/fmod_ret/tp_btf) or LSM program to the kernel
    /// function or hook it was loaded for.
    fn attach_btf(&self) -> Result<Link> {
        let attach_type = self.kind.expected_attach_type.map_or(0, |t| t.0);
        let create = LinkCreate {
            prog: self.fd.as_fd(),
            target: LinkTarget::Fd(None),
            attach_type,
            flags: 0,
            iter_info: &[],
            target_btf_id: 0,
        };
        let fd = match sys::link_create(&create) {
            Ok(fd) => fd,
            // Older kernels attach tracing programs only through raw_tracepoint_open.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => sys::raw_tracepoint_open(self.fd.as_fd(), None)
                .map_err(|e| self.attach_error(None, format!("BPF_RAW_TRACEPOINT_OPEN: {e}")))?,
            Err(e) => return Err(self.attach_error(None, format!("BPF_LINK_CREATE: {e}"))),
        };
        Ok(Link::new(&self.name, LinkKind::Bpf(fd)))
    }

    /// Attaches a kprobe (or, with `retprobe`, a kretprobe) to kernel function `function` at byte
    /// `offset`, through the kprobe PMU.
    pub fn attach_kprobe(&self, function: &str, offset: u64, retprobe: bool) -> Result<Link> {
        let target = format!("{} {function}+{offset}", if retprobe { "kretprobe" } else { "kprobe" });
        let event = attach::kprobe_event(function, offset, retprobe)
            .map_err(|why| self.attach_error(Some(target.clone()), why))?;
        self.attach_perf_event_fd(event, &target)
    }

    /// Attaches to every kernel function matching glob `pattern` with one kprobe_multi link.
    pub fn attach_kprobe_multi(&self, pattern: &str, retprobe: bool) -> Result<Link> {
        let target = format!("kprobe.multi {pattern}");
        let symbols =
            attach::matching_functions(pattern).map_err(|why| self.attach_error(Some(target.clone()), why))?;
        let refs: Vec<&std::ffi::CStr> = symbols.iter().map(CString::as_c_str).collect();
        let create = LinkCreate {
            prog: self.fd.as_fd(),
            target: LinkTarget::KprobeMulti {
                symbols: &refs,
                flags: if retprobe { sys::uapi::BPF_F_KPROBE_MULTI_RETURN } else { 0 },
            },
            attach_type: sys::uapi::BPF_TRACE_KPROBE_MULTI,
            flags: 0,
            iter_info: &[],
            target_btf_id: 0,
        };
        let fd = sys::link_create(&create)
            .map_err(|e| self.attach_error(Some(target), format!("BPF_LINK_CREATE ({} functions): {e}", refs.len())))?;
        Ok(Link::new(&self.name, LinkKind::Bpf(fd)))
    }

    fn link_to(&self, target: LinkTarget<'_>, attach_type: u32, flags: u32, what: String) -> Result<Link> {
        let create = LinkCreate { prog: self.fd.as_fd(), target, attach_type, flags, iter_info: &[], target_btf_id: 0 };
        let fd =
            sys::link_create(&create).map_err(|e| self.attach_error(Some(what), format!("BPF_LINK_CREATE: {e}")))?;
        Ok(Link::new(&self.name, LinkKind::Bpf(fd)))
    }

    /// Attaches an XDP program to interface `ifindex` (`flags`: `XDP_FLAGS_*`, 0 lets the
    /// kernel pick the mode).
    pub fn attach_xdp(&self, ifindex: u32, flags: u32) -> Result<Link> {
        self.link_to(LinkTarget::Ifindex(ifindex), sys::uapi::BPF_XDP, flags, format!("XDP on ifindex {ifindex}"))
    }

    /// Attaches a tc program to interface `ifindex` through tcx (Linux 6.6+), on the side its
    /// section names (`tc/ingress`, `tc/egress`, `tcx/...`), or ingress when it names none.
    pub fn attach_tcx(&self, ifindex: u32) -> Result<Link> {
        let attach_type = self.kind.expected_attach_type.map_or(sys::uapi::BPF_TCX_INGRESS, |t| t.0);
        self.link_to(LinkTarget::Ifindex(ifindex), attach_type, 0, format!("tcx on ifindex {ifindex}"))
    }

    /// Attaches a cgroup program to the cgroup whose directory `cgroup` is open, with the attach
    /// type its section names.
    pub fn attach_cgroup(&self, cgroup: BorrowedFd<'_>) -> Result<Link> {
        let attach_type = self
            .kind
            .expected_attach_type
            .ok_or_else(|| self.attach_error(Some("cgroup".into()), "the section names no cgroup attach type"))?;
        self.link_to(LinkTarget::Fd(Some(cgroup)), attach_type.0, 0, "cgroup".into())
    }

    /// Attaches a socket filter to `socket` (`SO_ATTACH_BPF`); the link keeps a duplicate of the
    /// socket fd and removes the filter on drop.
    pub fn attach_socket(&self, socket: BorrowedFd<'_>) -> Result<Link> {
        let dup = socket.try_clone_to_owned().map_err(|e| self.attach_error(Some("socket".into()), e.to_string()))?;
        sys::sock::attach_bpf(dup.as_fd(), self.fd.as_fd())
            .map_err(|e| self.attach_error(Some("socket".into()), format!("SO_ATTACH_BPF: {e}")))?;
        Ok(Link::new(&self.name, LinkKind::Socket { socket: dup }))
    }

    /// Attaches with legacy `BPF_PROG_ATTACH` (cgroup, sockmap, flow dissector) to `target`;
    /// undone on drop with `BPF_PROG_DETACH`.
    pub fn attach_legacy(&self, target: BorrowedFd<'_>, attach_type: AttachType, flags: u32) -> Result<Link> {
        let what = || Some(format!("attach type {attach_type}"));
        let fail = |e: std::io::Error| self.attach_error(what(), format!("BPF_PROG_ATTACH: {e}"));
        let target = target.try_clone_to_owned().map_err(fail)?;
        let prog = self.fd.try_clone().map_err(fail)?;
        sys::prog_attach(prog.as_fd(), target.as_fd(), attach_type.0, flags).map_err(fail)?;
        Ok(Link::new(&self.name, LinkKind::ProgAttach { target, prog, attach_type: attach_type.0 }))
    }

    /// Attaches an iterator program (`SEC("iter/...")`); read its output with
    /// [`Iter::read_all`].
    pub fn attach_iter(&self) -> Result<Iter> {
        if self.kind.expected_attach_type != Some(AttachType::TRACE_ITER) {
            return Err(self.attach_error(None, "not an iterator program"));
        }
        let link = self.link_to(LinkTarget::Fd(None), sys::uapi::BPF_TRACE_ITER, 0, "iterator".into())?;
        Ok(Iter { link, program: self.name.clone() })
    }

    /// Runs the program once in the kernel on `run`'s input (`BPF_PROG_TEST_RUN`): XDP and skb
    /// programs on a packet, syscall programs on a context.
    pub fn test_run(&self, run: &mut TestRun<'_>) -> Result<TestRunResult> {
        sys::prog_test_run(self.fd.as_fd(), run)
            .map_err(|e| Error::sys(format!("BPF_PROG_TEST_RUN of {}", self.name), e))
    }

    /// Pins the program at `path` in a bpffs.
    pub fn pin(&self, path: impl AsRef<Path>) -> Result<()> {
        let c = path_cstring(path.as_ref())?;
        sys::obj_pin(self.fd.as_fd(), &c)
            .map_err(|e| Error::sys(format!("pin {} at {}", self.name, path.as_ref().display()), e))
    }
}

impl AsFd for Program {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// An attached iterator: each [`read_all`](Iter::read_all) runs it once from the start.
#[derive(Debug)]
pub struct Iter {
    link: Link,
    program: String,
}

impl Iter {
    /// Runs the iterator and returns everything it wrote.
    pub fn read_all(&self) -> Result<Vec<u8>> {
        let what = |e| Error::sys(format!("read iterator {}", self.program), e);
        let fd = self.link.link_fd().ok_or_else(|| what(std::io::Error::other("iterator without a link")))?;
        let mut file = std::fs::File::from(sys::iter_create(fd).map_err(what)?);
        let mut out = Vec::new();
        file.read_to_end(&mut out).map_err(what)?;
        Ok(out)
    }

    /// The underlying link.
    pub fn link(&self) -> &Link {
        &self.link
    }
}

impl Program {
    /// Whether [`attach`](Self::attach) needs nothing more than the section name (tracepoints,
    /// kprobes, fentry and friends); XDP, tc, cgroup, socket, iterator and syscall programs need a
    /// target from the caller.
    pub fn is_auto_attachable(&self) -> bool {
        auto_attachable(self)
    }
}

/// Whether [`Program::attach`] can attach `p` without a target from the caller.
pub(crate) fn auto_attachable(p: &Program) -> bool {
    match &p.kind.target {
        AttachTarget::Tracepoint { .. }
        | AttachTarget::RawTracepoint(_)
        | AttachTarget::Kprobe { .. }
        | AttachTarget::KprobeMulti { .. }
        | AttachTarget::Ksyscall { .. } => true,
        AttachTarget::Btf { .. } => {
            matches!(p.kind.prog_type, ProgramType::TRACING | ProgramType::LSM)
                && p.kind.expected_attach_type != Some(AttachType::TRACE_ITER)
        }
        _ => false,
    }
}
