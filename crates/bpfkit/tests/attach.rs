//! Host-kernel tests of the attach kinds of the `attach` fixture: a raw tracepoint, a perf event
//! array consumed in Rust, XDP and tcx on the loopback interface, a cgroup egress program and a
//! socket filter, each proven by what its program counted, and stopped by dropping its link.
//! (The kprobe kinds run in the VM: this host has no kprobes.) Needs root.

mod common;

use std::net::UdpSocket;
use std::os::fd::AsFd;

use bpfkit::{Object, OpenObject};
use common::{fixture, ready, serial};

fn load() -> Object {
    let mut open = OpenObject::open(fixture("attach")).expect("open attach.bpf.o");
    open.set_global_as("target_tgid", &std::process::id()).unwrap();
    // Kprobes need a kernel with them (the VM).
    for name in ["on_getppid_kprobe", "on_getppid_kretprobe", "on_getppid_multi", "on_getppid_ksyscall"] {
        open.program_mut(name).unwrap().autoload = false;
    }
    open.load().expect("load attach")
}

fn getppid() {
    // SAFETY: getppid has no preconditions.
    unsafe { libc::syscall(libc::SYS_getppid) };
}

/// Sends `n` UDP datagrams over loopback to a socket of our own and receives them.
fn udp_round_trips(n: usize) {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    rx.set_read_timeout(Some(std::time::Duration::from_secs(2))).unwrap();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut buf = [0u8; 64];
    for i in 0..n {
        tx.send_to(&[i as u8; 16], rx.local_addr().unwrap()).unwrap();
        rx.recv(&mut buf).unwrap();
    }
}

#[test]
fn raw_tracepoint_counts_syscalls() {
    if !ready("raw_tracepoint_counts_syscalls") {
        return;
    }
    let _serial = serial();
    let obj = load();
    let link = obj.program("on_sys_enter").unwrap().attach().expect("attach raw_tp");
    for _ in 0..10 {
        getppid();
    }
    let hits = obj.global_as::<u64>("raw_tp_hits").unwrap();
    assert!(hits >= 10, "raw_tp counted {hits} syscalls for 10 getppid()");
    drop(link);
    let after = obj.global_as::<u64>("raw_tp_hits").unwrap();
    getppid();
    assert_eq!(obj.global_as::<u64>("raw_tp_hits").unwrap(), after);
}

#[test]
fn perf_buffer_delivers_events() {
    if !ready("perf_buffer_delivers_events") {
        return;
    }
    let _serial = serial();
    let obj = load();
    let mut perf = obj.map("perf_events").unwrap().perf_buffer(8).expect("perf buffer");
    let _link = obj.program("emit_getppid").unwrap().attach().expect("attach tracepoint");
    for _ in 0..5 {
        getppid();
    }
    let mut seqs = Vec::new();
    let consumed = perf
        .consume(|_cpu, sample| {
            // 16 bytes of event, padded by the kernel to keep records 8-byte aligned.
            assert_eq!(sample.len(), 20);
            assert_eq!(u32::from_ne_bytes(sample[0..4].try_into().unwrap()), std::process::id());
            seqs.push(u64::from_ne_bytes(sample[8..16].try_into().unwrap()));
        })
        .unwrap();
    seqs.sort();
    assert_eq!(seqs, vec![0, 1, 2, 3, 4], "{consumed:?}");
    assert_eq!(consumed.lost, 0);
    // Consumed records are gone.
    assert_eq!(perf.consume(|_, _| {}).unwrap().samples, 0);
}

#[test]
fn xdp_tcx_cgroup_and_socket_programs_see_loopback_traffic() {
    if !ready("xdp_tcx_cgroup_and_socket_programs_see_loopback_traffic") {
        return;
    }
    let _serial = serial();
    let obj = load();
    let lo = 1; // the loopback interface's index
    let xdp = obj.program("count_xdp").unwrap().attach_xdp(lo, 0).expect("attach XDP to lo");
    let tcx = obj.program("count_tcx").unwrap().attach_tcx(lo).expect("attach tcx ingress to lo");
    let cgroup = std::fs::File::open("/sys/fs/cgroup/unified")
        .or_else(|_| std::fs::File::open("/sys/fs/cgroup"))
        .expect("cgroup v2 root");
    let cg = obj.program("count_cgroup").unwrap().attach_cgroup(cgroup.as_fd()).expect("attach cgroup egress");
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let sock = obj.program("count_socket").unwrap().attach_socket(rx.as_fd()).expect("attach socket filter");
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut buf = [0u8; 64];
    for i in 0..4u8 {
        tx.send_to(&[i; 16], rx.local_addr().unwrap()).unwrap();
        // The filter keeps the whole packet: the datagram arrives intact.
        rx.set_read_timeout(Some(std::time::Duration::from_secs(2))).unwrap();
        assert_eq!(rx.recv(&mut buf).unwrap(), 16);
    }
    let count = |name: &str| obj.global_as::<u64>(name).unwrap();
    for name in ["xdp_packets", "tcx_packets", "cgroup_packets"] {
        assert!(count(name) >= 4, "{name} = {} after 4 datagrams", count(name));
    }
    assert_eq!(count("socket_packets"), 4);
    drop((xdp, tcx, cg, sock));
    let before = ["xdp_packets", "tcx_packets", "cgroup_packets", "socket_packets"].map(count);
    udp_round_trips(3);
    let after = ["xdp_packets", "tcx_packets", "cgroup_packets", "socket_packets"].map(count);
    assert_eq!(before, after, "programs still ran after their links were dropped");
}

#[test]
fn a_pinned_link_and_program_outlive_their_handles() {
    if !ready("a_pinned_link_and_program_outlive_their_handles") {
        return;
    }
    let _serial = serial();
    let bpffs = bpfkit_testkit::reference::BpfFs::mount("links").expect("mount a private bpffs");
    let obj = load();
    let prog = obj.program("on_sys_enter").unwrap();
    prog.pin(bpffs.path().join("prog")).expect("pin program");
    let link = prog.attach().unwrap();
    let pinned = bpffs.path().join("link");
    link.pin(&pinned).expect("pin link");
    drop(link);
    // The pin keeps the program attached.
    let before = obj.global_as::<u64>("raw_tp_hits").unwrap();
    getppid();
    let during = obj.global_as::<u64>("raw_tp_hits").unwrap();
    assert!(during > before, "a pinned link must stay attached after its handle is dropped");
    // Removing the pin drops the last reference: detached (bpffs releases the inode's reference
    // after an RCU grace period, so give it a moment).
    std::fs::remove_file(&pinned).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    loop {
        let settled = obj.global_as::<u64>("raw_tp_hits").unwrap();
        getppid();
        if obj.global_as::<u64>("raw_tp_hits").unwrap() == settled {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still attached 3 s after the link's pin was removed");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(bpffs.path().join("prog").exists());
}
