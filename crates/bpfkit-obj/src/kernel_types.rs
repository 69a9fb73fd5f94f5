//! The kernel's numbering of program types, attach types and map types (`enum bpf_prog_type`,
//! `enum bpf_attach_type`, `enum bpf_map_type` in `linux/bpf.h`), as open newtypes: an object
//! may name a type newer than this table, and the kernel is the judge of what it supports.
//! Generated from the UAPI header of Linux 7.2 (Debian linux-libc-dev); `bpfkit`'s tests
//! check them against its bindgen bindings.

/// A program type (`BPF_PROG_TYPE_*`): what the program may do and where it can attach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ProgramType(pub u32);

impl ProgramType {
    /// `BPF_PROG_TYPE_UNSPEC`.
    pub const UNSPEC: ProgramType = ProgramType(0);
    /// `BPF_PROG_TYPE_SOCKET_FILTER`.
    pub const SOCKET_FILTER: ProgramType = ProgramType(1);
    /// `BPF_PROG_TYPE_KPROBE`.
    pub const KPROBE: ProgramType = ProgramType(2);
    /// `BPF_PROG_TYPE_SCHED_CLS`.
    pub const SCHED_CLS: ProgramType = ProgramType(3);
    /// `BPF_PROG_TYPE_SCHED_ACT`.
    pub const SCHED_ACT: ProgramType = ProgramType(4);
    /// `BPF_PROG_TYPE_TRACEPOINT`.
    pub const TRACEPOINT: ProgramType = ProgramType(5);
    /// `BPF_PROG_TYPE_XDP`.
    pub const XDP: ProgramType = ProgramType(6);
    /// `BPF_PROG_TYPE_PERF_EVENT`.
    pub const PERF_EVENT: ProgramType = ProgramType(7);
    /// `BPF_PROG_TYPE_CGROUP_SKB`.
    pub const CGROUP_SKB: ProgramType = ProgramType(8);
    /// `BPF_PROG_TYPE_CGROUP_SOCK`.
    pub const CGROUP_SOCK: ProgramType = ProgramType(9);
    /// `BPF_PROG_TYPE_LWT_IN`.
    pub const LWT_IN: ProgramType = ProgramType(10);
    /// `BPF_PROG_TYPE_LWT_OUT`.
    pub const LWT_OUT: ProgramType = ProgramType(11);
    /// `BPF_PROG_TYPE_LWT_XMIT`.
    pub const LWT_XMIT: ProgramType = ProgramType(12);
    /// `BPF_PROG_TYPE_SOCK_OPS`.
    pub const SOCK_OPS: ProgramType = ProgramType(13);
    /// `BPF_PROG_TYPE_SK_SKB`.
    pub const SK_SKB: ProgramType = ProgramType(14);
    /// `BPF_PROG_TYPE_CGROUP_DEVICE`.
    pub const CGROUP_DEVICE: ProgramType = ProgramType(15);
    /// `BPF_PROG_TYPE_SK_MSG`.
    pub const SK_MSG: ProgramType = ProgramType(16);
    /// `BPF_PROG_TYPE_RAW_TRACEPOINT`.
    pub const RAW_TRACEPOINT: ProgramType = ProgramType(17);
    /// `BPF_PROG_TYPE_CGROUP_SOCK_ADDR`.
    pub const CGROUP_SOCK_ADDR: ProgramType = ProgramType(18);
    /// `BPF_PROG_TYPE_LWT_SEG6LOCAL`.
    pub const LWT_SEG6LOCAL: ProgramType = ProgramType(19);
    /// `BPF_PROG_TYPE_LIRC_MODE2`.
    pub const LIRC_MODE2: ProgramType = ProgramType(20);
    /// `BPF_PROG_TYPE_SK_REUSEPORT`.
    pub const SK_REUSEPORT: ProgramType = ProgramType(21);
    /// `BPF_PROG_TYPE_FLOW_DISSECTOR`.
    pub const FLOW_DISSECTOR: ProgramType = ProgramType(22);
    /// `BPF_PROG_TYPE_CGROUP_SYSCTL`.
    pub const CGROUP_SYSCTL: ProgramType = ProgramType(23);
    /// `BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE`.
    pub const RAW_TRACEPOINT_WRITABLE: ProgramType = ProgramType(24);
    /// `BPF_PROG_TYPE_CGROUP_SOCKOPT`.
    pub const CGROUP_SOCKOPT: ProgramType = ProgramType(25);
    /// `BPF_PROG_TYPE_TRACING`.
    pub const TRACING: ProgramType = ProgramType(26);
    /// `BPF_PROG_TYPE_STRUCT_OPS`.
    pub const STRUCT_OPS: ProgramType = ProgramType(27);
    /// `BPF_PROG_TYPE_EXT`.
    pub const EXT: ProgramType = ProgramType(28);
    /// `BPF_PROG_TYPE_LSM`.
    pub const LSM: ProgramType = ProgramType(29);
    /// `BPF_PROG_TYPE_SK_LOOKUP`.
    pub const SK_LOOKUP: ProgramType = ProgramType(30);
    /// `BPF_PROG_TYPE_SYSCALL`.
    pub const SYSCALL: ProgramType = ProgramType(31);
    /// `BPF_PROG_TYPE_NETFILTER`.
    pub const NETFILTER: ProgramType = ProgramType(32);

    /// The UAPI name without its `BPF_PROG_TYPE_` prefix (`None` for numbers newer than this table).
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "UNSPEC",
            1 => "SOCKET_FILTER",
            2 => "KPROBE",
            3 => "SCHED_CLS",
            4 => "SCHED_ACT",
            5 => "TRACEPOINT",
            6 => "XDP",
            7 => "PERF_EVENT",
            8 => "CGROUP_SKB",
            9 => "CGROUP_SOCK",
            10 => "LWT_IN",
            11 => "LWT_OUT",
            12 => "LWT_XMIT",
            13 => "SOCK_OPS",
            14 => "SK_SKB",
            15 => "CGROUP_DEVICE",
            16 => "SK_MSG",
            17 => "RAW_TRACEPOINT",
            18 => "CGROUP_SOCK_ADDR",
            19 => "LWT_SEG6LOCAL",
            20 => "LIRC_MODE2",
            21 => "SK_REUSEPORT",
            22 => "FLOW_DISSECTOR",
            23 => "CGROUP_SYSCTL",
            24 => "RAW_TRACEPOINT_WRITABLE",
            25 => "CGROUP_SOCKOPT",
            26 => "TRACING",
            27 => "STRUCT_OPS",
            28 => "EXT",
            29 => "LSM",
            30 => "SK_LOOKUP",
            31 => "SYSCALL",
            32 => "NETFILTER",
            _ => return None,
        })
    }
}

impl std::fmt::Display for ProgramType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "#{}", self.0),
        }
    }
}

/// An attach type (`BPF_*` of `enum bpf_attach_type`): the hook a program is loaded for (`expected_attach_type`) or attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct AttachType(pub u32);

impl AttachType {
    /// `BPF_CGROUP_INET_INGRESS`.
    pub const CGROUP_INET_INGRESS: AttachType = AttachType(0);
    /// `BPF_CGROUP_INET_EGRESS`.
    pub const CGROUP_INET_EGRESS: AttachType = AttachType(1);
    /// `BPF_CGROUP_INET_SOCK_CREATE`.
    pub const CGROUP_INET_SOCK_CREATE: AttachType = AttachType(2);
    /// `BPF_CGROUP_SOCK_OPS`.
    pub const CGROUP_SOCK_OPS: AttachType = AttachType(3);
    /// `BPF_SK_SKB_STREAM_PARSER`.
    pub const SK_SKB_STREAM_PARSER: AttachType = AttachType(4);
    /// `BPF_SK_SKB_STREAM_VERDICT`.
    pub const SK_SKB_STREAM_VERDICT: AttachType = AttachType(5);
    /// `BPF_CGROUP_DEVICE`.
    pub const CGROUP_DEVICE: AttachType = AttachType(6);
    /// `BPF_SK_MSG_VERDICT`.
    pub const SK_MSG_VERDICT: AttachType = AttachType(7);
    /// `BPF_CGROUP_INET4_BIND`.
    pub const CGROUP_INET4_BIND: AttachType = AttachType(8);
    /// `BPF_CGROUP_INET6_BIND`.
    pub const CGROUP_INET6_BIND: AttachType = AttachType(9);
    /// `BPF_CGROUP_INET4_CONNECT`.
    pub const CGROUP_INET4_CONNECT: AttachType = AttachType(10);
    /// `BPF_CGROUP_INET6_CONNECT`.
    pub const CGROUP_INET6_CONNECT: AttachType = AttachType(11);
    /// `BPF_CGROUP_INET4_POST_BIND`.
    pub const CGROUP_INET4_POST_BIND: AttachType = AttachType(12);
    /// `BPF_CGROUP_INET6_POST_BIND`.
    pub const CGROUP_INET6_POST_BIND: AttachType = AttachType(13);
    /// `BPF_CGROUP_UDP4_SENDMSG`.
    pub const CGROUP_UDP4_SENDMSG: AttachType = AttachType(14);
    /// `BPF_CGROUP_UDP6_SENDMSG`.
    pub const CGROUP_UDP6_SENDMSG: AttachType = AttachType(15);
    /// `BPF_LIRC_MODE2`.
    pub const LIRC_MODE2: AttachType = AttachType(16);
    /// `BPF_FLOW_DISSECTOR`.
    pub const FLOW_DISSECTOR: AttachType = AttachType(17);
    /// `BPF_CGROUP_SYSCTL`.
    pub const CGROUP_SYSCTL: AttachType = AttachType(18);
    /// `BPF_CGROUP_UDP4_RECVMSG`.
    pub const CGROUP_UDP4_RECVMSG: AttachType = AttachType(19);
    /// `BPF_CGROUP_UDP6_RECVMSG`.
    pub const CGROUP_UDP6_RECVMSG: AttachType = AttachType(20);
    /// `BPF_CGROUP_GETSOCKOPT`.
    pub const CGROUP_GETSOCKOPT: AttachType = AttachType(21);
    /// `BPF_CGROUP_SETSOCKOPT`.
    pub const CGROUP_SETSOCKOPT: AttachType = AttachType(22);
    /// `BPF_TRACE_RAW_TP`.
    pub const TRACE_RAW_TP: AttachType = AttachType(23);
    /// `BPF_TRACE_FENTRY`.
    pub const TRACE_FENTRY: AttachType = AttachType(24);
    /// `BPF_TRACE_FEXIT`.
    pub const TRACE_FEXIT: AttachType = AttachType(25);
    /// `BPF_MODIFY_RETURN`.
    pub const MODIFY_RETURN: AttachType = AttachType(26);
    /// `BPF_LSM_MAC`.
    pub const LSM_MAC: AttachType = AttachType(27);
    /// `BPF_TRACE_ITER`.
    pub const TRACE_ITER: AttachType = AttachType(28);
    /// `BPF_CGROUP_INET4_GETPEERNAME`.
    pub const CGROUP_INET4_GETPEERNAME: AttachType = AttachType(29);
    /// `BPF_CGROUP_INET6_GETPEERNAME`.
    pub const CGROUP_INET6_GETPEERNAME: AttachType = AttachType(30);
    /// `BPF_CGROUP_INET4_GETSOCKNAME`.
    pub const CGROUP_INET4_GETSOCKNAME: AttachType = AttachType(31);
    /// `BPF_CGROUP_INET6_GETSOCKNAME`.
    pub const CGROUP_INET6_GETSOCKNAME: AttachType = AttachType(32);
    /// `BPF_XDP_DEVMAP`.
    pub const XDP_DEVMAP: AttachType = AttachType(33);
    /// `BPF_CGROUP_INET_SOCK_RELEASE`.
    pub const CGROUP_INET_SOCK_RELEASE: AttachType = AttachType(34);
    /// `BPF_XDP_CPUMAP`.
    pub const XDP_CPUMAP: AttachType = AttachType(35);
    /// `BPF_SK_LOOKUP`.
    pub const SK_LOOKUP: AttachType = AttachType(36);
    /// `BPF_XDP`.
    pub const XDP: AttachType = AttachType(37);
    /// `BPF_SK_SKB_VERDICT`.
    pub const SK_SKB_VERDICT: AttachType = AttachType(38);
    /// `BPF_SK_REUSEPORT_SELECT`.
    pub const SK_REUSEPORT_SELECT: AttachType = AttachType(39);
    /// `BPF_SK_REUSEPORT_SELECT_OR_MIGRATE`.
    pub const SK_REUSEPORT_SELECT_OR_MIGRATE: AttachType = AttachType(40);
    /// `BPF_PERF_EVENT`.
    pub const PERF_EVENT: AttachType = AttachType(41);
    /// `BPF_TRACE_KPROBE_MULTI`.
    pub const TRACE_KPROBE_MULTI: AttachType = AttachType(42);
    /// `BPF_LSM_CGROUP`.
    pub const LSM_CGROUP: AttachType = AttachType(43);
    /// `BPF_STRUCT_OPS`.
    pub const STRUCT_OPS: AttachType = AttachType(44);
    /// `BPF_NETFILTER`.
    pub const NETFILTER: AttachType = AttachType(45);
    /// `BPF_TCX_INGRESS`.
    pub const TCX_INGRESS: AttachType = AttachType(46);
    /// `BPF_TCX_EGRESS`.
    pub const TCX_EGRESS: AttachType = AttachType(47);
    /// `BPF_TRACE_UPROBE_MULTI`.
    pub const TRACE_UPROBE_MULTI: AttachType = AttachType(48);
    /// `BPF_CGROUP_UNIX_CONNECT`.
    pub const CGROUP_UNIX_CONNECT: AttachType = AttachType(49);
    /// `BPF_CGROUP_UNIX_SENDMSG`.
    pub const CGROUP_UNIX_SENDMSG: AttachType = AttachType(50);
    /// `BPF_CGROUP_UNIX_RECVMSG`.
    pub const CGROUP_UNIX_RECVMSG: AttachType = AttachType(51);
    /// `BPF_CGROUP_UNIX_GETPEERNAME`.
    pub const CGROUP_UNIX_GETPEERNAME: AttachType = AttachType(52);
    /// `BPF_CGROUP_UNIX_GETSOCKNAME`.
    pub const CGROUP_UNIX_GETSOCKNAME: AttachType = AttachType(53);
    /// `BPF_NETKIT_PRIMARY`.
    pub const NETKIT_PRIMARY: AttachType = AttachType(54);
    /// `BPF_NETKIT_PEER`.
    pub const NETKIT_PEER: AttachType = AttachType(55);
    /// `BPF_TRACE_KPROBE_SESSION`.
    pub const TRACE_KPROBE_SESSION: AttachType = AttachType(56);
    /// `BPF_TRACE_UPROBE_SESSION`.
    pub const TRACE_UPROBE_SESSION: AttachType = AttachType(57);
    /// `BPF_TRACE_FSESSION`.
    pub const TRACE_FSESSION: AttachType = AttachType(58);
    /// `BPF_TRACE_FENTRY_MULTI`.
    pub const TRACE_FENTRY_MULTI: AttachType = AttachType(59);
    /// `BPF_TRACE_FEXIT_MULTI`.
    pub const TRACE_FEXIT_MULTI: AttachType = AttachType(60);
    /// `BPF_TRACE_FSESSION_MULTI`.
    pub const TRACE_FSESSION_MULTI: AttachType = AttachType(61);

    /// The UAPI name without its `BPF_` prefix (`None` for numbers newer than this table).
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "CGROUP_INET_INGRESS",
            1 => "CGROUP_INET_EGRESS",
            2 => "CGROUP_INET_SOCK_CREATE",
            3 => "CGROUP_SOCK_OPS",
            4 => "SK_SKB_STREAM_PARSER",
            5 => "SK_SKB_STREAM_VERDICT",
            6 => "CGROUP_DEVICE",
            7 => "SK_MSG_VERDICT",
            8 => "CGROUP_INET4_BIND",
            9 => "CGROUP_INET6_BIND",
            10 => "CGROUP_INET4_CONNECT",
            11 => "CGROUP_INET6_CONNECT",
            12 => "CGROUP_INET4_POST_BIND",
            13 => "CGROUP_INET6_POST_BIND",
            14 => "CGROUP_UDP4_SENDMSG",
            15 => "CGROUP_UDP6_SENDMSG",
            16 => "LIRC_MODE2",
            17 => "FLOW_DISSECTOR",
            18 => "CGROUP_SYSCTL",
            19 => "CGROUP_UDP4_RECVMSG",
            20 => "CGROUP_UDP6_RECVMSG",
            21 => "CGROUP_GETSOCKOPT",
            22 => "CGROUP_SETSOCKOPT",
            23 => "TRACE_RAW_TP",
            24 => "TRACE_FENTRY",
            25 => "TRACE_FEXIT",
            26 => "MODIFY_RETURN",
            27 => "LSM_MAC",
            28 => "TRACE_ITER",
            29 => "CGROUP_INET4_GETPEERNAME",
            30 => "CGROUP_INET6_GETPEERNAME",
            31 => "CGROUP_INET4_GETSOCKNAME",
            32 => "CGROUP_INET6_GETSOCKNAME",
            33 => "XDP_DEVMAP",
            34 => "CGROUP_INET_SOCK_RELEASE",
            35 => "XDP_CPUMAP",
            36 => "SK_LOOKUP",
            37 => "XDP",
            38 => "SK_SKB_VERDICT",
            39 => "SK_REUSEPORT_SELECT",
            40 => "SK_REUSEPORT_SELECT_OR_MIGRATE",
            41 => "PERF_EVENT",
            42 => "TRACE_KPROBE_MULTI",
            43 => "LSM_CGROUP",
            44 => "STRUCT_OPS",
            45 => "NETFILTER",
            46 => "TCX_INGRESS",
            47 => "TCX_EGRESS",
            48 => "TRACE_UPROBE_MULTI",
            49 => "CGROUP_UNIX_CONNECT",
            50 => "CGROUP_UNIX_SENDMSG",
            51 => "CGROUP_UNIX_RECVMSG",
            52 => "CGROUP_UNIX_GETPEERNAME",
            53 => "CGROUP_UNIX_GETSOCKNAME",
            54 => "NETKIT_PRIMARY",
            55 => "NETKIT_PEER",
            56 => "TRACE_KPROBE_SESSION",
            57 => "TRACE_UPROBE_SESSION",
            58 => "TRACE_FSESSION",
            59 => "TRACE_FENTRY_MULTI",
            60 => "TRACE_FEXIT_MULTI",
            61 => "TRACE_FSESSION_MULTI",
            _ => return None,
        })
    }
}

impl std::fmt::Display for AttachType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "#{}", self.0),
        }
    }
}

/// A map type (`BPF_MAP_TYPE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MapType(pub u32);

impl MapType {
    /// `BPF_MAP_TYPE_UNSPEC`.
    pub const UNSPEC: MapType = MapType(0);
    /// `BPF_MAP_TYPE_HASH`.
    pub const HASH: MapType = MapType(1);
    /// `BPF_MAP_TYPE_ARRAY`.
    pub const ARRAY: MapType = MapType(2);
    /// `BPF_MAP_TYPE_PROG_ARRAY`.
    pub const PROG_ARRAY: MapType = MapType(3);
    /// `BPF_MAP_TYPE_PERF_EVENT_ARRAY`.
    pub const PERF_EVENT_ARRAY: MapType = MapType(4);
    /// `BPF_MAP_TYPE_PERCPU_HASH`.
    pub const PERCPU_HASH: MapType = MapType(5);
    /// `BPF_MAP_TYPE_PERCPU_ARRAY`.
    pub const PERCPU_ARRAY: MapType = MapType(6);
    /// `BPF_MAP_TYPE_STACK_TRACE`.
    pub const STACK_TRACE: MapType = MapType(7);
    /// `BPF_MAP_TYPE_CGROUP_ARRAY`.
    pub const CGROUP_ARRAY: MapType = MapType(8);
    /// `BPF_MAP_TYPE_LRU_HASH`.
    pub const LRU_HASH: MapType = MapType(9);
    /// `BPF_MAP_TYPE_LRU_PERCPU_HASH`.
    pub const LRU_PERCPU_HASH: MapType = MapType(10);
    /// `BPF_MAP_TYPE_LPM_TRIE`.
    pub const LPM_TRIE: MapType = MapType(11);
    /// `BPF_MAP_TYPE_ARRAY_OF_MAPS`.
    pub const ARRAY_OF_MAPS: MapType = MapType(12);
    /// `BPF_MAP_TYPE_HASH_OF_MAPS`.
    pub const HASH_OF_MAPS: MapType = MapType(13);
    /// `BPF_MAP_TYPE_DEVMAP`.
    pub const DEVMAP: MapType = MapType(14);
    /// `BPF_MAP_TYPE_SOCKMAP`.
    pub const SOCKMAP: MapType = MapType(15);
    /// `BPF_MAP_TYPE_CPUMAP`.
    pub const CPUMAP: MapType = MapType(16);
    /// `BPF_MAP_TYPE_XSKMAP`.
    pub const XSKMAP: MapType = MapType(17);
    /// `BPF_MAP_TYPE_SOCKHASH`.
    pub const SOCKHASH: MapType = MapType(18);
    /// `BPF_MAP_TYPE_CGROUP_STORAGE_DEPRECATED`.
    pub const CGROUP_STORAGE_DEPRECATED: MapType = MapType(19);
    /// `BPF_MAP_TYPE_REUSEPORT_SOCKARRAY`.
    pub const REUSEPORT_SOCKARRAY: MapType = MapType(20);
    /// `BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE_DEPRECATED`.
    pub const PERCPU_CGROUP_STORAGE_DEPRECATED: MapType = MapType(21);
    /// `BPF_MAP_TYPE_QUEUE`.
    pub const QUEUE: MapType = MapType(22);
    /// `BPF_MAP_TYPE_STACK`.
    pub const STACK: MapType = MapType(23);
    /// `BPF_MAP_TYPE_SK_STORAGE`.
    pub const SK_STORAGE: MapType = MapType(24);
    /// `BPF_MAP_TYPE_DEVMAP_HASH`.
    pub const DEVMAP_HASH: MapType = MapType(25);
    /// `BPF_MAP_TYPE_STRUCT_OPS`.
    pub const STRUCT_OPS: MapType = MapType(26);
    /// `BPF_MAP_TYPE_RINGBUF`.
    pub const RINGBUF: MapType = MapType(27);
    /// `BPF_MAP_TYPE_INODE_STORAGE`.
    pub const INODE_STORAGE: MapType = MapType(28);
    /// `BPF_MAP_TYPE_TASK_STORAGE`.
    pub const TASK_STORAGE: MapType = MapType(29);
    /// `BPF_MAP_TYPE_BLOOM_FILTER`.
    pub const BLOOM_FILTER: MapType = MapType(30);
    /// `BPF_MAP_TYPE_USER_RINGBUF`.
    pub const USER_RINGBUF: MapType = MapType(31);
    /// `BPF_MAP_TYPE_CGRP_STORAGE`.
    pub const CGRP_STORAGE: MapType = MapType(32);
    /// `BPF_MAP_TYPE_ARENA`.
    pub const ARENA: MapType = MapType(33);
    /// `BPF_MAP_TYPE_INSN_ARRAY`.
    pub const INSN_ARRAY: MapType = MapType(34);
    /// `BPF_MAP_TYPE_RHASH`.
    pub const RHASH: MapType = MapType(35);

    /// Whether the kernel sizes maps of this type itself and requires `max_entries` 0: the
    /// local storages (one value per socket, inode, task or cgroup) and the legacy cgroup
    /// storages (one per attached program and cgroup).
    pub fn is_kernel_sized(self) -> bool {
        matches!(
            self,
            MapType::SK_STORAGE
                | MapType::INODE_STORAGE
                | MapType::TASK_STORAGE
                | MapType::CGRP_STORAGE
                | MapType::CGROUP_STORAGE_DEPRECATED
                | MapType::PERCPU_CGROUP_STORAGE_DEPRECATED
        )
    }

    /// The UAPI name without its `BPF_MAP_TYPE_` prefix (`None` for numbers newer than this table).
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "UNSPEC",
            1 => "HASH",
            2 => "ARRAY",
            3 => "PROG_ARRAY",
            4 => "PERF_EVENT_ARRAY",
            5 => "PERCPU_HASH",
            6 => "PERCPU_ARRAY",
            7 => "STACK_TRACE",
            8 => "CGROUP_ARRAY",
            9 => "LRU_HASH",
            10 => "LRU_PERCPU_HASH",
            11 => "LPM_TRIE",
            12 => "ARRAY_OF_MAPS",
            13 => "HASH_OF_MAPS",
            14 => "DEVMAP",
            15 => "SOCKMAP",
            16 => "CPUMAP",
            17 => "XSKMAP",
            18 => "SOCKHASH",
            19 => "CGROUP_STORAGE_DEPRECATED",
            20 => "REUSEPORT_SOCKARRAY",
            21 => "PERCPU_CGROUP_STORAGE_DEPRECATED",
            22 => "QUEUE",
            23 => "STACK",
            24 => "SK_STORAGE",
            25 => "DEVMAP_HASH",
            26 => "STRUCT_OPS",
            27 => "RINGBUF",
            28 => "INODE_STORAGE",
            29 => "TASK_STORAGE",
            30 => "BLOOM_FILTER",
            31 => "USER_RINGBUF",
            32 => "CGRP_STORAGE",
            33 => "ARENA",
            34 => "INSN_ARRAY",
            35 => "RHASH",
            _ => return None,
        })
    }
}

impl std::fmt::Display for MapType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "#{}", self.0),
        }
    }
}
