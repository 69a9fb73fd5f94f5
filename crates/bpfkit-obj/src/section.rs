//! libbpf's `SEC()` naming conventions: the section a program is compiled into says its program
//! type, the attach type the kernel must be told at load (`expected_attach_type`), whether it
//! is sleepable, and where it attaches (`SEC("kprobe/do_unlinkat")`, `SEC("fentry/btrfs:...")`).
//!
//! Matching follows libbpf 1.x's strict rules: a name either matches exactly (`xdp`,
//! `cgroup_skb/ingress`) or, for names that take a target, is the prefix of `name/target` or
//! stands alone (`kprobe` with the target given at attach time). A section that matches nothing
//! gives no [`ProgramSection`]; the loader reports it by name unless the caller sets a type.

use crate::kernel_types::{AttachType, ProgramType};

/// What a program's section name says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramSection {
    /// The program type to load it as.
    pub prog_type: ProgramType,
    /// The `expected_attach_type` to load it with, if the type needs one.
    pub expected_attach_type: Option<AttachType>,
    /// Loaded with `BPF_F_SLEEPABLE` (`.s` sections, `syscall`).
    pub sleepable: bool,
    /// Loaded with `BPF_F_XDP_HAS_FRAGS` (`xdp.frags`).
    pub xdp_frags: bool,
    /// Where it attaches, as far as the section name says.
    pub target: AttachTarget,
}

/// The attach point named by a section (after the first `/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttachTarget {
    /// Nothing named: attached by the caller (sockets, XDP, tc, cgroups) or not attachable.
    None,
    /// `kprobe/FUNC[+OFFSET]`, `kretprobe/FUNC`.
    Kprobe {
        /// Kernel function.
        function: String,
        /// Byte offset into it.
        offset: u64,
        /// A return probe.
        retprobe: bool,
    },
    /// `kprobe.multi/PATTERN`, `kretprobe.multi/PATTERN`, `kprobe.session/PATTERN` (glob).
    KprobeMulti {
        /// Glob over kernel function names.
        pattern: String,
        /// A return probe.
        retprobe: bool,
    },
    /// `ksyscall/NAME`, `kretsyscall/NAME`: a syscall by its name without the arch prefix.
    Ksyscall {
        /// Syscall name (`openat`).
        syscall: String,
        /// A return probe.
        retprobe: bool,
    },
    /// `uprobe/BINARY:FUNC[+OFFSET]` and the multi/session forms (kept as written).
    Uprobe {
        /// Binary path (may be empty: given at attach time).
        binary: String,
        /// Function name or glob, with an optional `+offset`.
        function: String,
        /// A return probe.
        retprobe: bool,
    },
    /// `usdt/...`: a user statically defined tracepoint (spec kept as written).
    Usdt(String),
    /// `tracepoint/CATEGORY/NAME`, `tp/CATEGORY/NAME`.
    Tracepoint {
        /// Tracepoint category (the tracefs `events/` directory).
        category: String,
        /// Tracepoint name.
        name: String,
    },
    /// `raw_tracepoint/NAME`, `raw_tp/NAME`.
    RawTracepoint(String),
    /// A kernel BTF function or hook: fentry/fexit/fmod_ret/tp_btf/lsm/iter/freplace, with the
    /// module that defines it for `fentry/MODULE:FUNC`.
    Btf {
        /// Module named in the section (`None`: vmlinux, or search all).
        module: Option<String>,
        /// The BTF name (for `iter/task`, `bpf_iter_task`; for `tp_btf/x`, `btf_trace_x`
        /// is what the kernel looks up, but the section's `x` is kept here).
        name: String,
    },
    /// `struct_ops/MEMBER`: the ops member the program implements (informational).
    StructOps(Option<String>),
}

/// How a table entry matches a section name.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Match {
    /// The whole name.
    Exact,
    /// The name alone, or followed by `/target`.
    WithTarget,
}

/// How the text after `name/` is read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    None,
    Kprobe(bool),
    KprobeMulti(bool),
    Ksyscall(bool),
    Uprobe(bool),
    Usdt,
    Tracepoint,
    RawTracepoint,
    Btf,
    Iter,
    StructOps,
}

struct Def {
    name: &'static str,
    how: Match,
    prog_type: ProgramType,
    attach: Option<AttachType>,
    target: Target,
    sleepable: bool,
    frags: bool,
}

const fn def(
    name: &'static str,
    how: Match,
    prog_type: ProgramType,
    attach: Option<AttachType>,
    target: Target,
) -> Def {
    Def { name, how, prog_type, attach, target, sleepable: false, frags: false }
}

const fn sleepable(d: Def) -> Def {
    Def { sleepable: true, ..d }
}

const fn frags(d: Def) -> Def {
    Def { frags: true, ..d }
}

use AttachType as A;
use Match::{Exact, WithTarget};
use ProgramType as P;

/// The conventions, most specific first (the first match wins).
const DEFS: &[Def] = &[
    def("socket", WithTarget, P::SOCKET_FILTER, None, Target::None),
    def("sk_reuseport/migrate", Exact, P::SK_REUSEPORT, Some(A::SK_REUSEPORT_SELECT_OR_MIGRATE), Target::None),
    def("sk_reuseport", Exact, P::SK_REUSEPORT, Some(A::SK_REUSEPORT_SELECT), Target::None),
    def("kprobe", WithTarget, P::KPROBE, None, Target::Kprobe(false)),
    def("kretprobe", WithTarget, P::KPROBE, None, Target::Kprobe(true)),
    def("kprobe.multi", WithTarget, P::KPROBE, Some(A::TRACE_KPROBE_MULTI), Target::KprobeMulti(false)),
    def("kretprobe.multi", WithTarget, P::KPROBE, Some(A::TRACE_KPROBE_MULTI), Target::KprobeMulti(true)),
    def("kprobe.session", WithTarget, P::KPROBE, Some(A::TRACE_KPROBE_SESSION), Target::KprobeMulti(false)),
    def("ksyscall", WithTarget, P::KPROBE, None, Target::Ksyscall(false)),
    def("kretsyscall", WithTarget, P::KPROBE, None, Target::Ksyscall(true)),
    def("uprobe", WithTarget, P::KPROBE, None, Target::Uprobe(false)),
    sleepable(def("uprobe.s", WithTarget, P::KPROBE, None, Target::Uprobe(false))),
    def("uretprobe", WithTarget, P::KPROBE, None, Target::Uprobe(true)),
    sleepable(def("uretprobe.s", WithTarget, P::KPROBE, None, Target::Uprobe(true))),
    def("uprobe.multi", WithTarget, P::KPROBE, Some(A::TRACE_UPROBE_MULTI), Target::Uprobe(false)),
    sleepable(def("uprobe.multi.s", WithTarget, P::KPROBE, Some(A::TRACE_UPROBE_MULTI), Target::Uprobe(false))),
    def("uretprobe.multi", WithTarget, P::KPROBE, Some(A::TRACE_UPROBE_MULTI), Target::Uprobe(true)),
    sleepable(def("uretprobe.multi.s", WithTarget, P::KPROBE, Some(A::TRACE_UPROBE_MULTI), Target::Uprobe(true))),
    def("uprobe.session", WithTarget, P::KPROBE, Some(A::TRACE_UPROBE_SESSION), Target::Uprobe(false)),
    sleepable(def("uprobe.session.s", WithTarget, P::KPROBE, Some(A::TRACE_UPROBE_SESSION), Target::Uprobe(false))),
    def("usdt", WithTarget, P::KPROBE, None, Target::Usdt),
    sleepable(def("usdt.s", WithTarget, P::KPROBE, None, Target::Usdt)),
    def("tc/ingress", Exact, P::SCHED_CLS, Some(A::TCX_INGRESS), Target::None),
    def("tc/egress", Exact, P::SCHED_CLS, Some(A::TCX_EGRESS), Target::None),
    def("tcx/ingress", Exact, P::SCHED_CLS, Some(A::TCX_INGRESS), Target::None),
    def("tcx/egress", Exact, P::SCHED_CLS, Some(A::TCX_EGRESS), Target::None),
    def("netkit/primary", Exact, P::SCHED_CLS, Some(A::NETKIT_PRIMARY), Target::None),
    def("netkit/peer", Exact, P::SCHED_CLS, Some(A::NETKIT_PEER), Target::None),
    def("tc", WithTarget, P::SCHED_CLS, None, Target::None),
    def("classifier", WithTarget, P::SCHED_CLS, None, Target::None),
    def("action", WithTarget, P::SCHED_ACT, None, Target::None),
    def("tracepoint", WithTarget, P::TRACEPOINT, None, Target::Tracepoint),
    def("tp", WithTarget, P::TRACEPOINT, None, Target::Tracepoint),
    def("raw_tracepoint", WithTarget, P::RAW_TRACEPOINT, None, Target::RawTracepoint),
    def("raw_tp", WithTarget, P::RAW_TRACEPOINT, None, Target::RawTracepoint),
    def("raw_tracepoint.w", WithTarget, P::RAW_TRACEPOINT_WRITABLE, None, Target::RawTracepoint),
    def("raw_tp.w", WithTarget, P::RAW_TRACEPOINT_WRITABLE, None, Target::RawTracepoint),
    def("tp_btf", WithTarget, P::TRACING, Some(A::TRACE_RAW_TP), Target::Btf),
    def("fentry", WithTarget, P::TRACING, Some(A::TRACE_FENTRY), Target::Btf),
    def("fmod_ret", WithTarget, P::TRACING, Some(A::MODIFY_RETURN), Target::Btf),
    def("fexit", WithTarget, P::TRACING, Some(A::TRACE_FEXIT), Target::Btf),
    sleepable(def("fentry.s", WithTarget, P::TRACING, Some(A::TRACE_FENTRY), Target::Btf)),
    sleepable(def("fmod_ret.s", WithTarget, P::TRACING, Some(A::MODIFY_RETURN), Target::Btf)),
    sleepable(def("fexit.s", WithTarget, P::TRACING, Some(A::TRACE_FEXIT), Target::Btf)),
    def("freplace", WithTarget, P::EXT, None, Target::Btf),
    def("lsm", WithTarget, P::LSM, Some(A::LSM_MAC), Target::Btf),
    sleepable(def("lsm.s", WithTarget, P::LSM, Some(A::LSM_MAC), Target::Btf)),
    def("lsm_cgroup", WithTarget, P::LSM, Some(A::LSM_CGROUP), Target::Btf),
    def("iter", WithTarget, P::TRACING, Some(A::TRACE_ITER), Target::Iter),
    sleepable(def("iter.s", WithTarget, P::TRACING, Some(A::TRACE_ITER), Target::Iter)),
    sleepable(def("syscall", Exact, P::SYSCALL, None, Target::None)),
    frags(def("xdp.frags/devmap", Exact, P::XDP, Some(A::XDP_DEVMAP), Target::None)),
    def("xdp/devmap", Exact, P::XDP, Some(A::XDP_DEVMAP), Target::None),
    frags(def("xdp.frags/cpumap", Exact, P::XDP, Some(A::XDP_CPUMAP), Target::None)),
    def("xdp/cpumap", Exact, P::XDP, Some(A::XDP_CPUMAP), Target::None),
    frags(def("xdp.frags", Exact, P::XDP, Some(A::XDP), Target::None)),
    def("xdp", Exact, P::XDP, Some(A::XDP), Target::None),
    def("perf_event", Exact, P::PERF_EVENT, None, Target::None),
    def("lwt_in", Exact, P::LWT_IN, None, Target::None),
    def("lwt_out", Exact, P::LWT_OUT, None, Target::None),
    def("lwt_xmit", Exact, P::LWT_XMIT, None, Target::None),
    def("lwt_seg6local", Exact, P::LWT_SEG6LOCAL, None, Target::None),
    def("sockops", Exact, P::SOCK_OPS, Some(A::CGROUP_SOCK_OPS), Target::None),
    def("sk_skb/stream_parser", Exact, P::SK_SKB, Some(A::SK_SKB_STREAM_PARSER), Target::None),
    def("sk_skb/stream_verdict", Exact, P::SK_SKB, Some(A::SK_SKB_STREAM_VERDICT), Target::None),
    def("sk_skb/verdict", Exact, P::SK_SKB, Some(A::SK_SKB_VERDICT), Target::None),
    def("sk_skb", Exact, P::SK_SKB, None, Target::None),
    def("sk_msg", Exact, P::SK_MSG, Some(A::SK_MSG_VERDICT), Target::None),
    def("lirc_mode2", Exact, P::LIRC_MODE2, Some(A::LIRC_MODE2), Target::None),
    def("flow_dissector", Exact, P::FLOW_DISSECTOR, Some(A::FLOW_DISSECTOR), Target::None),
    def("cgroup_skb/ingress", Exact, P::CGROUP_SKB, Some(A::CGROUP_INET_INGRESS), Target::None),
    def("cgroup_skb/egress", Exact, P::CGROUP_SKB, Some(A::CGROUP_INET_EGRESS), Target::None),
    def("cgroup/skb", Exact, P::CGROUP_SKB, None, Target::None),
    def("cgroup/sock_create", Exact, P::CGROUP_SOCK, Some(A::CGROUP_INET_SOCK_CREATE), Target::None),
    def("cgroup/sock_release", Exact, P::CGROUP_SOCK, Some(A::CGROUP_INET_SOCK_RELEASE), Target::None),
    def("cgroup/sock", Exact, P::CGROUP_SOCK, Some(A::CGROUP_INET_SOCK_CREATE), Target::None),
    def("cgroup/post_bind4", Exact, P::CGROUP_SOCK, Some(A::CGROUP_INET4_POST_BIND), Target::None),
    def("cgroup/post_bind6", Exact, P::CGROUP_SOCK, Some(A::CGROUP_INET6_POST_BIND), Target::None),
    def("cgroup/bind4", Exact, P::CGROUP_SOCK_ADDR, Some(A::CGROUP_INET4_BIND), Target::None),
    def("cgroup/bind6", Exact, P::CGROUP_SOCK_ADDR, Some(A::CGROUP_INET6_BIND), Target::None),
    def("cgroup/connect4", Exact, P::CGROUP_SOCK_ADDR, Some(A::CGROUP_INET4_CONNECT), Target::None),
    def("cgroup/connect6", Exact, P::CGROUP_SOCK_ADDR, Some(A::CGROUP_INET6_CONNECT), Target::None),
    def("cgroup/connect_unix", Exact, P::CGROUP_SOCK_ADDR, Some(A::CGROUP_UNIX_CONNECT), Target::None),
    def("cgroup/sendmsg4", Exact, P::CGROUP_SOCK_ADDR, Some(A::CGROUP_UDP4_SENDMSG), Target::None),
    def("cgroup/sendmsg6", Exact, P::CGROUP_SOCK_ADDR, Some(A::CGROUP_UDP6_SENDMSG), Target::None),
    def("cgroup/sendmsg_unix", Exact, P::CGROUP_SOCK_ADDR, Some(A::CGROUP_UNIX_SENDMSG), Target::None),
    def("cgroup/recvmsg4", Exact, P::CGROUP_SOCK_ADDR, Some(A::CGROUP_UDP4_RECVMSG), Target::None),
    def("cgroup/recvmsg6", Exact, P::CGROUP_SOCK_ADDR, Some(A::CGROUP_UDP6_RECVMSG), Target::None),
    def("cgroup/recvmsg_unix", Exact, P::CGROUP_SOCK_ADDR, Some(A::CGROUP_UNIX_RECVMSG), Target::None),
    def("cgroup/getpeername4", Exact, P::CGROUP_SOCK_ADDR, Some(A::CGROUP_INET4_GETPEERNAME), Target::None),
    def("cgroup/getpeername6", Exact, P::CGROUP_SOCK_ADDR, Some(A::CGROUP_INET6_GETPEERNAME), Target::None),
    def("cgroup/getpeername_unix", Exact, P::CGROUP_SOCK_ADDR, Some(A::CGROUP_UNIX_GETPEERNAME), Target::None),
    def("cgroup/getsockname4", Exact, P::CGROUP_SOCK_ADDR, Some(A::CGROUP_INET4_GETSOCKNAME), Target::None),
    def("cgroup/getsockname6", Exact, P::CGROUP_SOCK_ADDR, Some(A::CGROUP_INET6_GETSOCKNAME), Target::None),
    def("cgroup/getsockname_unix", Exact, P::CGROUP_SOCK_ADDR, Some(A::CGROUP_UNIX_GETSOCKNAME), Target::None),
    def("cgroup/sysctl", Exact, P::CGROUP_SYSCTL, Some(A::CGROUP_SYSCTL), Target::None),
    def("cgroup/getsockopt", Exact, P::CGROUP_SOCKOPT, Some(A::CGROUP_GETSOCKOPT), Target::None),
    def("cgroup/setsockopt", Exact, P::CGROUP_SOCKOPT, Some(A::CGROUP_SETSOCKOPT), Target::None),
    def("cgroup/dev", Exact, P::CGROUP_DEVICE, Some(A::CGROUP_DEVICE), Target::None),
    def("struct_ops", WithTarget, P::STRUCT_OPS, None, Target::StructOps),
    sleepable(def("struct_ops.s", WithTarget, P::STRUCT_OPS, None, Target::StructOps)),
    def("sk_lookup", Exact, P::SK_LOOKUP, Some(A::SK_LOOKUP), Target::None),
    def("netfilter", Exact, P::NETFILTER, Some(A::NETFILTER), Target::None),
];

impl ProgramSection {
    /// Classifies a program section name; `None` when it follows no known convention.
    pub fn parse(section: &str) -> Option<ProgramSection> {
        DEFS.iter().find_map(|d| {
            let rest = match d.how {
                Exact => (section == d.name).then_some(""),
                WithTarget => match section.strip_prefix(d.name) {
                    Some("") => Some(""),
                    Some(rest) => rest.strip_prefix('/'),
                    None => None,
                },
            }?;
            Some(ProgramSection {
                prog_type: d.prog_type,
                expected_attach_type: d.attach,
                sleepable: d.sleepable,
                xdp_frags: d.frags,
                target: target(d.target, rest),
            })
        })
    }
}

fn target(how: Target, text: &str) -> AttachTarget {
    if text.is_empty() && how != Target::StructOps {
        return AttachTarget::None;
    }
    let owned = || text.to_owned();
    match how {
        Target::None => AttachTarget::None,
        Target::Kprobe(retprobe) => {
            let (function, offset) = match text.split_once('+') {
                Some((f, off)) => (f, parse_offset(off)),
                None => (text, Some(0)),
            };
            match offset {
                Some(offset) => AttachTarget::Kprobe { function: function.to_owned(), offset, retprobe },
                // An unreadable offset stays in the name: attaching reports the unknown function.
                None => AttachTarget::Kprobe { function: owned(), offset: 0, retprobe },
            }
        }
        Target::KprobeMulti(retprobe) => AttachTarget::KprobeMulti { pattern: owned(), retprobe },
        Target::Ksyscall(retprobe) => AttachTarget::Ksyscall { syscall: owned(), retprobe },
        Target::Uprobe(retprobe) => {
            let (binary, function) = text.rsplit_once(':').unwrap_or((text, ""));
            AttachTarget::Uprobe { binary: binary.to_owned(), function: function.to_owned(), retprobe }
        }
        Target::Usdt => AttachTarget::Usdt(owned()),
        Target::Tracepoint => {
            let (category, name) = text.split_once('/').unwrap_or(("", text));
            AttachTarget::Tracepoint { category: category.to_owned(), name: name.to_owned() }
        }
        Target::RawTracepoint => AttachTarget::RawTracepoint(owned()),
        Target::Btf => match text.split_once(':') {
            Some((module, name)) => AttachTarget::Btf { module: Some(module.to_owned()), name: name.to_owned() },
            None => AttachTarget::Btf { module: None, name: owned() },
        },
        Target::Iter => AttachTarget::Btf { module: None, name: format!("bpf_iter_{text}") },
        Target::StructOps => AttachTarget::StructOps((!text.is_empty()).then(owned)),
    }
}

/// `0x1f` or `31`.
fn parse_offset(text: &str) -> Option<u64> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> ProgramSection {
        ProgramSection::parse(s).unwrap_or_else(|| panic!("{s} not recognised"))
    }

    #[test]
    fn conventions() {
        let tp = parse("tracepoint/syscalls/sys_enter_getpid");
        assert_eq!(tp.prog_type, ProgramType::TRACEPOINT);
        assert_eq!(
            tp.target,
            AttachTarget::Tracepoint { category: "syscalls".into(), name: "sys_enter_getpid".into() }
        );
        let fentry = parse("fentry.s/btrfs:btrfs_sync_file");
        assert_eq!(
            (fentry.prog_type, fentry.expected_attach_type, fentry.sleepable),
            (ProgramType::TRACING, Some(AttachType::TRACE_FENTRY), true)
        );
        assert_eq!(fentry.target, AttachTarget::Btf { module: Some("btrfs".into()), name: "btrfs_sync_file".into() });
        let kp = parse("kretprobe/do_unlinkat+0x10");
        assert_eq!(kp.target, AttachTarget::Kprobe { function: "do_unlinkat".into(), offset: 16, retprobe: true });
        assert_eq!(parse("kprobe").target, AttachTarget::None);
        assert_eq!(parse("iter/task").target, AttachTarget::Btf { module: None, name: "bpf_iter_task".into() });
        assert!(parse("xdp.frags").xdp_frags);
        assert_eq!(parse("xdp").expected_attach_type, Some(AttachType::XDP));
        assert_eq!(parse("tc/ingress").expected_attach_type, Some(AttachType::TCX_INGRESS));
        assert_eq!(parse("tc").expected_attach_type, None);
        assert!(parse("syscall").sleepable);
        assert_eq!(parse("struct_ops/compute").target, AttachTarget::StructOps(Some("compute".into())));
        assert_eq!(parse("struct_ops").prog_type, ProgramType::STRUCT_OPS);
        assert_eq!(
            parse("uprobe//bin/bash:readline").target,
            AttachTarget::Uprobe { binary: "/bin/bash".into(), function: "readline".into(), retprobe: false }
        );
        assert_eq!(parse("cgroup_skb/egress").expected_attach_type, Some(AttachType::CGROUP_INET_EGRESS));
        assert_eq!(parse("lsm.s/file_open").prog_type, ProgramType::LSM);
        assert_eq!(parse("kprobe.multi/tcp_*").expected_attach_type, Some(AttachType::TRACE_KPROBE_MULTI));
    }

    #[test]
    fn strict_matching() {
        for unknown in ["xdp/foo", "xdpx", "kprobes/x", "socketx", "", "tracepointx/a/b", "cgroup/unknown"] {
            assert_eq!(ProgramSection::parse(unknown), None, "{unknown}");
        }
        // a prefix match must stop at '/': "tp_btf/x" is not "tp" + "_btf/x"
        assert_eq!(parse("tp_btf/sched_switch").prog_type, ProgramType::TRACING);
        assert_eq!(parse("raw_tp.w/x").prog_type, ProgramType::RAW_TRACEPOINT_WRITABLE);
    }
}
