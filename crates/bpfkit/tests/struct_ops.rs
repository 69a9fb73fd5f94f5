//! Host-kernel tests of struct_ops with the `tcp_cc` fixture: a BPF TCP congestion control
//! registered through a link and the legacy way, listed by the kernel, selected for a real
//! loopback connection that moves 64 MiB while its callbacks count, gone once dropped, and
//! swapped live for a second implementation through `BPF_LINK_UPDATE` without breaking the
//! connection. Needs root.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;

use bpfkit::{Object, OpenObject};
use bpfkit_obj::MapKind;
use common::{fixture, ready, serial};

const NAME: &str = "bpfkit_reno";
const AVAILABLE: &str = "/proc/sys/net/ipv4/tcp_available_congestion_control";

fn available() -> bool {
    std::fs::read_to_string(AVAILABLE).unwrap().split_whitespace().any(|n| n == NAME)
}

fn set_congestion(stream: &TcpStream, name: &str) -> std::io::Result<()> {
    // SAFETY: the option value is a live byte buffer of the given length.
    let r = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_CONGESTION,
            name.as_ptr().cast(),
            name.len() as libc::socklen_t,
        )
    };
    if r == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
}

/// A loopback connection using `NAME`, and a thread draining it.
fn connection() -> (TcpStream, std::thread::JoinHandle<u64>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let reader = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; 1 << 16];
        let mut total = 0u64;
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => return total,
                Ok(n) => total += n as u64,
            }
        }
    });
    let stream = TcpStream::connect(addr).unwrap();
    set_congestion(&stream, NAME).expect("select the BPF congestion control");
    (stream, reader)
}

fn send(stream: &mut TcpStream, mib: usize) {
    let chunk = vec![0x5au8; 1 << 20];
    for _ in 0..mib {
        stream.write_all(&chunk).unwrap();
    }
}

fn load() -> Object {
    OpenObject::open(fixture("tcp_cc")).unwrap().load().expect("load tcp_cc")
}

#[test]
fn a_bpf_congestion_control_registers_runs_and_unregisters() {
    if !ready("a_bpf_congestion_control_registers_runs_and_unregisters") {
        return;
    }
    let _serial = serial();
    let obj = load();
    assert!(!available(), "{NAME} registered before attach");
    let link = obj.map(NAME).unwrap().attach_struct_ops().expect("register through a link");
    assert!(available(), "{NAME} not listed in {AVAILABLE}");
    let (mut stream, reader) = connection();
    send(&mut stream, 64);
    drop(stream);
    assert_eq!(reader.join().unwrap(), 64 << 20);
    let (inits, acks) = (obj.global_as::<u64>("inits").unwrap(), obj.global_as::<u64>("acks").unwrap());
    assert!(inits >= 1 && acks > 0, "callbacks did not run: inits {inits}, acks {acks}");
    drop(link);
    // Unregistration completes when the last socket using it is gone.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while available() {
        assert!(std::time::Instant::now() < deadline, "{NAME} still listed 5 s after its link was dropped");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn the_legacy_registration_writes_and_deletes_the_value() {
    if !ready("the_legacy_registration_writes_and_deletes_the_value") {
        return;
    }
    let _serial = serial();
    let mut open = OpenObject::open(fixture("tcp_cc")).unwrap();
    let map = open.map_mut(NAME).unwrap();
    if let MapKind::StructOps { link, .. } = &mut map.kind {
        *link = false;
    }
    let obj = open.load().expect("load as a plain .struct_ops map");
    let reg = obj.map(NAME).unwrap().attach_struct_ops().expect("register by value");
    assert!(available());
    drop(reg);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while available() {
        assert!(std::time::Instant::now() < deadline, "{NAME} still listed after the value was deleted");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn a_live_update_swaps_the_implementation_under_a_connection() {
    if !ready("a_live_update_swaps_the_implementation_under_a_connection") {
        return;
    }
    let _serial = serial();
    let first = load();
    let second = load();
    let link = first.map(NAME).unwrap().attach_struct_ops().unwrap();
    let (mut stream, reader) = connection();
    send(&mut stream, 16);
    link.update_map(second.map(NAME).unwrap()).expect("BPF_LINK_UPDATE to the second map");
    // New connections get the second implementation; the open one keeps working.
    let (mut other, other_reader) = connection();
    send(&mut other, 16);
    send(&mut stream, 16);
    drop((stream, other));
    assert_eq!(reader.join().unwrap(), 32 << 20);
    assert_eq!(other_reader.join().unwrap(), 16 << 20);
    assert!(second.global_as::<u64>("inits").unwrap() >= 1, "the second implementation never ran");
    assert!(available());
    drop(link);
}

#[test]
fn unknown_ops_types_and_unused_programs_are_named() {
    if !ready("unknown_ops_types_and_unused_programs_are_named") {
        return;
    }
    let mut open = OpenObject::open(fixture("tcp_cc")).unwrap();
    if let MapKind::StructOps { type_name, .. } = &mut open.map_mut(NAME).unwrap().kind {
        *type_name = "tcp_congestion_opz".into();
    }
    let e = open.load().unwrap_err().to_string();
    assert!(e.contains("tcp_congestion_opz") && e.contains("tcp_congestion_ops"), "{e}");
    // A struct_ops program no ops map points to has nothing to attach to: unhooking a member
    // turns its program off (as libbpf does), and turning it back on is an error naming it.
    let mut open = OpenObject::open(fixture("tcp_cc")).unwrap();
    open.set_struct_ops_program(NAME, "init", None).unwrap();
    assert!(!open.model().program("bpfkit_reno_init").unwrap().autoload);
    open.program_mut("bpfkit_reno_init").unwrap().autoload = true;
    let e = open.load().unwrap_err().to_string();
    assert!(e.contains("bpfkit_reno_init") && e.contains("no struct_ops map of the object uses"), "{e}");
}

#[test]
fn the_ops_value_can_be_changed_before_load() {
    if !ready("the_ops_value_can_be_changed_before_load") {
        return;
    }
    let _serial = serial();
    let mut open = OpenObject::open(fixture("tcp_cc")).unwrap();
    assert_eq!(&open.struct_ops_field(NAME, "name").unwrap()[..12], b"bpfkit_reno\0");
    let mut name = [0u8; 16];
    name[..12].copy_from_slice(b"bpfkit_reno2");
    open.set_struct_ops_field(NAME, "name", &name).unwrap();
    assert!(open.set_struct_ops_field(NAME, "name", b"short").is_err());
    // `init` is optional for TCP congestion controls: cleared, its program is not loaded (as
    // libbpf turns its autoload off) and never runs.
    open.set_struct_ops_program(NAME, "init", None).unwrap();
    let obj = open.load().unwrap();
    assert!(obj.program("bpfkit_reno_init").is_err(), "the unhooked program was loaded");
    let link = obj.map(NAME).unwrap().attach_struct_ops().unwrap();
    let listed = std::fs::read_to_string(AVAILABLE).unwrap();
    assert!(listed.split_whitespace().any(|n| n == "bpfkit_reno2"), "{listed}");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    set_congestion(&stream, "bpfkit_reno2").unwrap();
    drop(stream);
    assert_eq!(obj.global_as::<u64>("inits").unwrap(), 0);
    drop(link);
}

#[test]
fn question_mark_sections_load_only_when_asked() {
    if !ready("question_mark_sections_load_only_when_asked") {
        return;
    }
    let _serial = serial();
    let open = OpenObject::open(fixture("optional")).unwrap();
    assert!(!open.model().program("optional_on").unwrap().autoload);
    assert!(!open.model().map("optional_cc").unwrap().autocreate);
    let obj = open.load().expect("load with the defaults");
    let loaded: Vec<&str> = obj.programs().map(|p| p.name()).collect();
    assert_eq!(loaded, ["always_on"]);
    assert!(obj.map("optional_cc").is_err());

    let mut open = OpenObject::open(fixture("optional")).unwrap();
    open.program_mut("optional_on").unwrap().autoload = true;
    open.map_mut("optional_cc").unwrap().autocreate = true;
    let obj = open.load().expect("load everything");
    assert_eq!(obj.programs().count(), 5);
    let link = obj.map("optional_cc").unwrap().attach_struct_ops().unwrap();
    let listed = std::fs::read_to_string(AVAILABLE).unwrap();
    assert!(listed.split_whitespace().any(|n| n == "bpfkit_opt"), "{listed}");
    drop(link);
}
