//! Host-kernel tests of program kinds beyond tracepoints: XDP and a socket filter exercised with
//! `BPF_PROG_RUN`, a task iterator read from its fd, and a program the verifier rejects (its log
//! must reach the error) beside one that loads once the bad one's autoload is off. Needs root.

mod common;

use bpfkit::{Error, OpenObject, TestRun};
use bpfkit_btf::Kind;
use bpfkit_testkit::packet::{Frame, NET_RUNS};
use common::{fixture, ready};

#[test]
fn xdp_and_socket_filter_verdicts_through_prog_run() {
    if !ready("xdp_and_socket_filter_verdicts_through_prog_run") {
        return;
    }
    let obj = OpenObject::open(fixture("net")).unwrap().load().expect("load net");
    let mut xdp_runs = [0u64; 5];
    for run in NET_RUNS {
        let frame = run.frame.bytes();
        let mut out = vec![0u8; frame.len() + 256];
        let result = obj
            .program(run.program)
            .unwrap()
            .test_run(&mut TestRun { data_in: &frame, data_out: Some(&mut out), ..Default::default() })
            .unwrap_or_else(|e| panic!("{}: {e}", run.program));
        assert_eq!(result.retval, run.retval, "{} on {:?}", run.program, run.frame);
        if run.program == "xdp_udp_drop" {
            xdp_runs[run.retval as usize] += 1;
            // XDP leaves the packet as it was.
            assert_eq!(&out[..result.data_size_out as usize], &frame[..]);
        }
    }
    let verdicts = obj.map("verdicts").unwrap();
    for (action, expected) in xdp_runs.iter().enumerate() {
        let per_cpu: Vec<u64> = verdicts.lookup_per_cpu(&(action as u32)).unwrap().unwrap();
        assert_eq!(per_cpu.iter().sum::<u64>(), *expected, "verdicts[{action}]");
    }
    let socket_runs = NET_RUNS.iter().filter(|r| r.program == "socket_udp_len").count() as u64;
    assert_eq!(obj.global_as::<u64>("filter_runs").unwrap(), socket_runs);
    // The last socket run was an ARP frame: skb->len is the frame without its Ethernet header.
    assert_eq!(obj.global_as::<u32>("last_skb_len").unwrap(), (Frame::Arp.bytes().len() - 14) as u32);
}

#[test]
fn rodata_knob_changes_the_xdp_verdict() {
    if !ready("rodata_knob_changes_the_xdp_verdict") {
        return;
    }
    let mut open = OpenObject::open(fixture("net")).unwrap();
    open.set_global_as("drop_port", &53u16).unwrap();
    let obj = open.load().unwrap();
    let xdp = obj.program("xdp_udp_drop").unwrap();
    for (dport, verdict) in [(53, 1), (7777, 2)] {
        let frame = Frame::Udp { dport, payload: 4 }.bytes();
        let r = xdp.test_run(&mut TestRun { data_in: &frame, ..Default::default() }).unwrap();
        assert_eq!(r.retval, verdict, "UDP to {dport}");
        assert_eq!(obj.global_as::<u32>("last_dport").unwrap(), u32::from(dport));
    }
}

#[test]
fn task_iterator_lists_this_process() {
    if !ready("task_iterator_lists_this_process") {
        return;
    }
    let vmlinux = bpfkit::kernel_btf::vmlinux().unwrap();
    let task = vmlinux.find_by_name_kind("task_struct", Kind::Struct).unwrap();
    let offset = |field| (vmlinux.find_member(task, field).unwrap().unwrap().bit_offset / 8) as u32;
    let mut open = OpenObject::open(fixture("iter")).unwrap();
    open.set_global_as("task_tgid_offset", &offset("tgid")).unwrap();
    open.set_global_as("task_comm_offset", &offset("comm")).unwrap();
    let obj = open.load().expect("load iter");
    let iter = obj.program("dump_task").unwrap().attach_iter().expect("attach iterator");
    let text = String::from_utf8(iter.read_all().unwrap()).unwrap();
    let comm = std::fs::read_to_string("/proc/self/comm").unwrap();
    let me = format!("{} {}", std::process::id(), comm.trim());
    let lines = text.lines().count() as u64;
    assert!(text.lines().any(|l| l == me), "no line {me:?} in {} lines of iterator output", lines);
    assert!(obj.global_as::<u64>("tasks_seen").unwrap() >= lines);
    // A second read runs the iterator again.
    assert!(!iter.read_all().unwrap().is_empty());
    // attach() refuses iterators (they need attach_iter) with a clear error.
    let e = obj.program("dump_task").unwrap().attach().unwrap_err().to_string();
    assert!(e.contains("attach_iter"), "{e}");
}

#[test]
fn verifier_rejection_carries_the_log_and_autoload_skips_it() {
    if !ready("verifier_rejection_carries_the_log_and_autoload_skips_it") {
        return;
    }
    let err = OpenObject::open(fixture("bad")).unwrap().load().unwrap_err();
    match &err {
        Error::ProgramLoad { program, source, log, .. } => {
            assert_eq!(program, "bad_null_deref");
            assert_eq!(source.raw_os_error(), Some(libc::EACCES));
            assert!(log.contains("R0 invalid mem access 'map_value_or_null'"), "{log}");
        }
        other => panic!("expected a verifier rejection, got {other}"),
    }
    // The one-line message names the program and ends with the verifier's reason.
    let message = err.to_string();
    assert!(message.contains("bad_null_deref") && message.contains("invalid mem access"), "{message}");

    let mut open = OpenObject::open(fixture("bad")).unwrap();
    open.program_mut("bad_null_deref").unwrap().autoload = false;
    let obj = open.load().expect("the correct program alone loads");
    assert!(obj.program("good_checked").is_ok());
    assert!(obj.program("bad_null_deref").is_err());
}

#[test]
fn a_verifier_log_larger_than_the_first_buffer_arrives_whole() {
    if !ready("a_verifier_log_larger_than_the_first_buffer_arrives_whole") {
        return;
    }
    use bpfkit::bpfkit_obj::Insn;
    // 30,000 `r0 = 0` then an out-of-bounds context read: the verifier logs every instruction
    // (far more than the loader's first 256 KiB log buffer) before rejecting the last one.
    let mut open = OpenObject::open(fixture("minimal")).unwrap();
    let prog = open.program_mut("count_getpid").unwrap();
    let mov_r0_0 = Insn::new(0xb7, 0, 0, 0, 0);
    let mut insns = vec![mov_r0_0; 30_000];
    insns.push(Insn::new(0x79, 0, 1, 0x7ff0, 0)); // r0 = *(u64 *)(r1 + 0x7ff0)
    insns.push(Insn::new(0x95, 0, 0, 0, 0)); // exit
    let name = prog.name.clone();
    prog.replace_code(bpfkit::bpfkit_obj::LinkedProgram {
        name: name.clone(),
        insns,
        functions: vec![(0, name)],
        ..Default::default()
    });
    let err = open.load().unwrap_err();
    let log = err.verifier_log().unwrap_or_else(|| panic!("not a verifier rejection: {err}"));
    assert!(log.len() > 256 << 10, "log of {} bytes", log.len());
    // Whole: from the first instruction to the verdict (a kernel that keeps only the tail of a
    // log that did not fit would lose the start).
    assert!(log.starts_with("0: ") || log.lines().take(3).any(|l| l.starts_with("0: ")), "{}", &log[..200]);
    assert!(log.contains("30000: (79) r0 = *(u64 *)(r1 +32752)"), "{}", &log[log.len() - 400..]);
}
