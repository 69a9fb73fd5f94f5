//! Host-kernel tests: every committed BPF fixture in `bpf/` is accepted by the running kernel,
//! loaded by the reference loader (Debian sid's bpftool with libbpf, from the sid chroot). This
//! proves the fixtures themselves are right before bpfkit's own loader is tested against them.
//! Needs root; skipped with the reason printed otherwise (a failure under `BPFKIT_NO_SKIP=1`).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bpfkit_btf::{Btf, Kind};
use bpfkit_testkit::chroot::SidRoot;
use bpfkit_testkit::definitions::ObjectDefinitions;
use bpfkit_testkit::kernel::SidKernel;
use bpfkit_testkit::packet::{NET_RUNS, PacketRun};
use bpfkit_testkit::reference::{BpfFs, Bpftool};
use bpfkit_testkit::{cache, skip};

/// How a fixture is checked on the host kernel.
enum HostCheck {
    /// `bpftool prog loadall`: every program passes the verifier.
    LoadAll,
    /// `bpftool prog loadall ... autoattach`, then `getpid()` calls must be counted in element 0
    /// of this array map.
    GetpidCounter(&'static str),
    /// `bpftool struct_ops register` of a TCP congestion control, which must then be listed by
    /// the kernel under this name and be gone once its link is unpinned.
    TcpCongestion(&'static str),
    /// `bpftool prog loadall` must fail because the verifier rejects `program` with `log` (a
    /// line of the verifier's log): the fixture fails for the intended reason.
    Rejected { program: &'static str, log: &'static str },
    /// `bpftool prog loadall`, then `bpftool prog run` (BPF_PROG_TEST_RUN) of each program on
    /// each frame: the program's return value must be the one expected.
    PacketRuns(&'static [PacketRun]),
    /// An `iter/task` program taking the byte offsets of `task_struct.tgid` and `.comm` in
    /// `.rodata` (set here from the running kernel's BTF by patching the object): pinned with
    /// `bpftool iter pin`, reading it must list this process as `"<tgid> <comm>"`.
    TaskIter { tgid_offset: &'static str, comm_offset: &'static str },
    /// Needs something the host kernel lacks; checked in the VM instead.
    VmOnly(&'static str),
    /// The host kernel refuses programs of this kind (`why`): `bpftool prog loadall` must fail
    /// with a message containing `error`, not loaded and not checked further.
    /// Once the host accepts them this check fails, so that the fixture gets a real one.
    HostRefuses { error: &'static str, why: &'static str },
}

/// Every fixture, by file stem. A fixture missing from this table fails `fixtures_are_classified`.
const FIXTURES: &[(&str, HostCheck)] = &[
    ("attach", HostCheck::LoadAll),
    // bpftool cannot run it: `bpftool prog run` always passes data_in and repeat >= 1, which the
    // kernel refuses for syscall programs (EINVAL); the loader's tests run it themselves.
    ("core", HostCheck::LoadAll),
    ("core_modules", HostCheck::LoadAll),
    (
        "externs_modules",
        HostCheck::VmOnly("calls nf_conntrack's and bpfkit_testmod's kfuncs (modules the host cannot load)"),
    ),
    (
        "optional",
        HostCheck::HostRefuses {
            error: "can't pin program that wasn't loaded",
            why: "bpftool loadall pins every program, and a ? program is not loaded by default",
        },
    ),
    (
        "externs",
        HostCheck::HostRefuses {
            error: "extern (func ksym) 'bpfkit_missing_kfunc': not found in kernel or module BTFs",
            why: "use_missing calls a kfunc no kernel has, on purpose; libbpf refuses the whole object",
        },
    ),
    ("bad", HostCheck::Rejected { program: "bad_null_deref", log: "R0 invalid mem access 'map_value_or_null'" }),
    (
        "bad_ops",
        HostCheck::Rejected { program: "bad_ops_cong_avoid", log: "R0 invalid mem access 'map_value_or_null'" },
    ),
    (
        "fentry",
        HostCheck::HostRefuses {
            error: "failed to load: -EPERM",
            why: "the host kernel refuses every fentry/fexit (BPF trampoline) program",
        },
    ),
    ("iter", HostCheck::TaskIter { tgid_offset: "task_tgid_offset", comm_offset: "task_comm_offset" }),
    ("maps", HostCheck::LoadAll),
    ("minimal", HostCheck::GetpidCounter("counts")),
    ("net", HostCheck::PacketRuns(NET_RUNS)),
    ("scx_fifo", HostCheck::VmOnly("a sched_ext scheduler (the host kernel has no sched_ext)")),
    ("scx_cid", HostCheck::VmOnly("a cid-form sched_ext scheduler (the host kernel has no sched_ext)")),
    ("scx_vtime", HostCheck::VmOnly("a sched_ext scheduler (the host kernel has no sched_ext)")),
    ("tcp_cc", HostCheck::TcpCongestion("bpfkit_reno")),
    ("testmod_ops", HostCheck::VmOnly("uses bpfkit_testmod's BTF (module not loadable on the host)")),
];

fn objects() -> Vec<(String, PathBuf)> {
    let dir = cache::repo_root().join("bpf");
    let mut found: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter_map(|p| {
            let stem = p.file_name()?.to_str()?.strip_suffix(".bpf.o")?.to_owned();
            Some((stem, p))
        })
        .collect();
    found.sort();
    found
}

#[test]
fn fixtures_are_classified() {
    let objects = objects();
    assert!(!objects.is_empty(), "no bpf/*.bpf.o");
    for (stem, _) in &objects {
        assert!(FIXTURES.iter().any(|(name, _)| name == stem), "bpf/{stem}.bpf.o has no host check in FIXTURES");
    }
    for (name, _) in FIXTURES {
        assert!(objects.iter().any(|(stem, _)| stem == name), "FIXTURES lists {name}, but bpf/{name}.bpf.o is missing");
    }
}

/// The reference bpftool, or `None` (after printing why) when this host cannot run the test.
fn reference(test: &str) -> Option<Bpftool> {
    let ready = || -> Result<Bpftool, String> {
        if !skip::is_root() {
            return Err("needs root (loads BPF programs, mounts a bpffs)".into());
        }
        let kernel = SidKernel::fetch().map_err(|e| e.to_string())?;
        let root = SidRoot::ensure(kernel.version()).map_err(|e| e.to_string())?;
        Bpftool::new(&root).map_err(|e| e.to_string())
    };
    match ready() {
        Ok(tool) => Some(tool),
        Err(why) => {
            if let Err(fail) = skip::skip(test, &why) {
                panic!("{fail}");
            }
            None
        }
    }
}

#[test]
fn host_kernel_accepts_every_fixture() {
    let Some(bpftool) = reference("host_kernel_accepts_every_fixture") else { return };
    let fs = BpfFs::mount("fixtures").expect("mount a private bpffs");
    let mut failures = Vec::new();
    for (stem, object) in objects() {
        let Some((_, check)) = FIXTURES.iter().find(|(name, _)| *name == stem) else { continue };
        let result = match check {
            HostCheck::LoadAll => load_all(&bpftool, &fs, &stem, &object),
            HostCheck::GetpidCounter(map) => getpid_counter(&bpftool, &fs, &stem, &object, map),
            HostCheck::TcpCongestion(name) => tcp_congestion(&bpftool, &fs, &stem, &object, name),
            HostCheck::Rejected { program, log } => rejected(&bpftool, &fs, &stem, &object, program, log),
            HostCheck::PacketRuns(runs) => packet_runs(&bpftool, &fs, &stem, &object, runs),
            HostCheck::TaskIter { tgid_offset, comm_offset } => {
                task_iter(&bpftool, &fs, &stem, &object, tgid_offset, comm_offset)
            }
            HostCheck::HostRefuses { error, why } => host_refuses(&bpftool, &fs, &stem, &object, error, why),
            HostCheck::VmOnly(why) => {
                println!("{stem}: checked in the VM ({why})");
                Ok(())
            }
        };
        if let Err(why) = result {
            failures.push(format!("{stem}: {why}"));
        }
    }
    assert!(failures.is_empty(), "fixtures the host kernel rejected:\n{}", failures.join("\n"));
}

/// `bpftool prog loadall`: every program of the object must pass the verifier and be pinned.
fn load_all(bpftool: &Bpftool, fs: &BpfFs, stem: &str, object: &Path) -> Result<(), String> {
    let defs = definitions(object)?;
    let pins = fs.path().join(stem);
    let loaded = bpftool
        .run_isolated([OsStr::new("prog"), "loadall".as_ref(), object.as_os_str(), pins.as_os_str()])
        .map_err(|e| e.to_string());
    let mut pinned: Vec<String> = std::fs::read_dir(&pins)
        .map(|d| d.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect())
        .unwrap_or_default();
    pinned.sort();
    let _ = std::fs::remove_dir_all(&pins);
    loaded?;
    let mut expected: Vec<String> = defs.programs.iter().map(|(_, name)| name.clone()).collect();
    expected.sort();
    println!("{stem}: {} loaded and pinned by bpftool (libbpf): {}", pinned.len(), pinned.join(", "));
    if pinned != expected {
        return Err(format!("the object defines programs {expected:?}, bpftool pinned {pinned:?}"));
    }
    Ok(())
}

/// Loads and attaches with bpftool (programs, links and maps pinned on `fs`), calls `getpid()`
/// and reads element 0 of `map` with bpftool: the attached program must have counted the calls.
fn getpid_counter(bpftool: &Bpftool, fs: &BpfFs, stem: &str, object: &Path, map: &str) -> Result<(), String> {
    const CALLS: u64 = 100;
    let pins = fs.path().join(stem);
    let maps = fs.path().join(format!("{stem}-maps"));
    let result = (|| {
        std::fs::create_dir_all(&maps).map_err(|e| e.to_string())?;
        bpftool
            .run_isolated([
                OsStr::new("prog"),
                "loadall".as_ref(),
                object.as_os_str(),
                pins.as_os_str(),
                "pinmaps".as_ref(),
                maps.as_os_str(),
                "autoattach".as_ref(),
            ])
            .map_err(|e| e.to_string())?;
        for _ in 0..CALLS {
            std::hint::black_box(std::process::id()); // getpid(2): the standard library does not cache it
        }
        let dump = bpftool.run([
            OsStr::new("-j"),
            "map".as_ref(),
            "dump".as_ref(),
            "pinned".as_ref(),
            maps.join(map).as_os_str(),
        ]);
        let dump = dump.map_err(|e| e.to_string())?;
        let count = json_value(&dump).ok_or_else(|| format!("no value in `bpftool map dump` output: {dump}"))?;
        println!("{stem}: attached by bpftool (libbpf); {map}[0] = {count} after {CALLS} getpid() calls");
        if count < CALLS { Err(format!("{map}[0] = {count}, expected at least {CALLS}")) } else { Ok(()) }
    })();
    let _ = std::fs::remove_dir_all(&pins);
    let _ = std::fs::remove_dir_all(&maps);
    result
}

/// The first numeric `"value":` in bpftool's JSON map dump: with BTF, the raw bytes come first
/// and the number in `"formatted"` (`[{"key":[...],"value":[...],"formatted":{"key":0,"value":93}}]`).
fn json_value(dump: &str) -> Option<u64> {
    dump.split("\"value\":").skip(1).find_map(|rest| {
        let digits = rest.trim_start();
        digits[..digits.find(|c: char| !c.is_ascii_digit()).unwrap_or(digits.len())].parse().ok()
    })
}

fn definitions(object: &Path) -> Result<ObjectDefinitions, String> {
    let bytes = std::fs::read(object).map_err(|e| format!("{}: {e}", object.display()))?;
    ObjectDefinitions::parse(&bytes).map_err(|e| format!("{}: {e}", object.display()))
}

/// `bpftool struct_ops register` with the link pinned on `fs`: the congestion control must be
/// listed while the link exists and gone once it is unpinned.
fn tcp_congestion(bpftool: &Bpftool, fs: &BpfFs, stem: &str, object: &Path, name: &str) -> Result<(), String> {
    let available =
        || std::fs::read_to_string("/proc/sys/net/ipv4/tcp_available_congestion_control").unwrap_or_default();
    let listed = |text: String| text.split_whitespace().any(|n| n == name);
    if listed(available()) {
        return Err(format!("{name} is already registered before the test"));
    }
    let links = fs.path().join(format!("{stem}-links"));
    std::fs::create_dir_all(&links).map_err(|e| e.to_string())?;
    let registered = bpftool
        .run_isolated([OsStr::new("struct_ops"), "register".as_ref(), object.as_os_str(), links.as_os_str()])
        .map_err(|e| e.to_string());
    let now = available();
    let _ = std::fs::remove_dir_all(&links);
    registered?;
    println!("{stem}: registered; tcp_available_congestion_control: {}", now.trim());
    if !listed(now) {
        return Err(format!("{name} not in tcp_available_congestion_control after registering"));
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while listed(available()) {
        if Instant::now() > deadline {
            return Err(format!("{name} still registered 5 s after its link was unpinned"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    println!("{stem}: link unpinned, {name} unregistered");
    Ok(())
}

/// `bpftool prog loadall` must fail, naming `program`, with `log` in the verifier log it prints.
fn rejected(bpftool: &Bpftool, fs: &BpfFs, stem: &str, object: &Path, program: &str, log: &str) -> Result<(), String> {
    let pins = fs.path().join(stem);
    let loaded = bpftool.run_isolated([OsStr::new("prog"), "loadall".as_ref(), object.as_os_str(), pins.as_os_str()]);
    let _ = std::fs::remove_dir_all(&pins);
    let error = match loaded {
        Ok(_) => return Err(format!("bpftool loaded it, but {program} should fail verification with `{log}`")),
        Err(e) => e.to_string(),
    };
    let named = format!("prog '{program}': BPF program load failed");
    if !error.contains(&named) || !error.lines().any(|line| line.trim() == log) {
        return Err(format!("expected `{named}` and the verifier log line `{log}`, bpftool said: {error}"));
    }
    println!("{stem}: rejected by the verifier as expected: {program}: {log}");
    Ok(())
}

/// `bpftool prog loadall` must fail with libbpf's "failed to load: `error`" (not a verifier log).
fn host_refuses(
    bpftool: &Bpftool,
    fs: &BpfFs,
    stem: &str,
    object: &Path,
    error: &str,
    why: &str,
) -> Result<(), String> {
    let pins = fs.path().join(stem);
    let loaded = bpftool.run_isolated([OsStr::new("prog"), "loadall".as_ref(), object.as_os_str(), pins.as_os_str()]);
    let _ = std::fs::remove_dir_all(&pins);
    match loaded {
        Ok(_) => Err(format!("loaded, but expected the host to refuse it ({why}): give it a real host check")),
        Err(e) if e.to_string().contains(error) => {
            println!("{stem}: not checked by bpftool on this host: {why} (bpftool: {error})");
            Ok(())
        }
        Err(e) => Err(format!("expected the load to fail with {error} ({why}), bpftool said: {e}")),
    }
}

/// Loads every program with bpftool, then runs each on its frame with `bpftool prog run`.
fn packet_runs(bpftool: &Bpftool, fs: &BpfFs, stem: &str, object: &Path, runs: &[PacketRun]) -> Result<(), String> {
    load_all(bpftool, fs, stem, object)?;
    let pins = fs.path().join(stem);
    let frames = scratch(stem, "frames");
    let result = (|| {
        bpftool
            .run_isolated([OsStr::new("prog"), "loadall".as_ref(), object.as_os_str(), pins.as_os_str()])
            .map_err(|e| e.to_string())?;
        std::fs::create_dir_all(&frames).map_err(|e| format!("{}: {e}", frames.display()))?;
        let mut wrong = Vec::new();
        for (i, run) in runs.iter().enumerate() {
            let frame = frames.join(format!("frame-{i}"));
            std::fs::write(&frame, run.frame.bytes()).map_err(|e| format!("{}: {e}", frame.display()))?;
            let out = bpftool
                .run([
                    OsStr::new("-j"),
                    "prog".as_ref(),
                    "run".as_ref(),
                    "pinned".as_ref(),
                    pins.join(run.program).as_os_str(),
                    "data_in".as_ref(),
                    frame.as_os_str(),
                ])
                .map_err(|e| e.to_string())?;
            let retval =
                json_number(&out, "retval").ok_or_else(|| format!("no retval in `bpftool prog run`: {out}"))?;
            println!("{stem}: {} on {:?} returned {retval}", run.program, run.frame);
            if retval != u64::from(run.retval) {
                wrong.push(format!("{} on {:?} returned {retval}, expected {}", run.program, run.frame, run.retval));
            }
        }
        if wrong.is_empty() { Ok(()) } else { Err(wrong.join("; ")) }
    })();
    let _ = std::fs::remove_dir_all(&pins);
    let _ = std::fs::remove_dir_all(&frames);
    result
}

/// A path for a scratch file of this test outside the bpffs (which holds only pins).
fn scratch(stem: &str, what: &str) -> PathBuf {
    std::env::temp_dir().join(format!("bpfkit-host-fixtures-{}-{stem}-{what}", std::process::id()))
}

/// The number after the first `"key":` in bpftool's JSON output.
fn json_number(json: &str, key: &str) -> Option<u64> {
    let rest = json.split(&format!("\"{key}\":")).nth(1)?.trim_start();
    rest[..rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len())].parse().ok()
}

/// Sets the task_struct offsets of the running kernel in a copy of the iterator object, pins
/// the iterator with bpftool and reads it: this process must be listed by tgid and comm.
fn task_iter(
    bpftool: &Bpftool,
    fs: &BpfFs,
    stem: &str,
    object: &Path,
    tgid_knob: &str,
    comm_knob: &str,
) -> Result<(), String> {
    let vmlinux = Btf::open("/sys/kernel/btf/vmlinux", None).map_err(|e| format!("/sys/kernel/btf/vmlinux: {e}"))?;
    let task = vmlinux.find_by_name_kind("task_struct", Kind::Struct).ok_or("no struct task_struct in vmlinux BTF")?;
    let offset = |member: &str| -> Result<u32, String> {
        let found = vmlinux.find_member(task, member).map_err(|e| e.to_string())?;
        let found = found.ok_or_else(|| format!("task_struct has no member {member}"))?;
        u32::try_from(found.bit_offset / 8).map_err(|e| e.to_string())
    };
    let (tgid, comm) = (offset("tgid")?, offset("comm")?);
    let mut bytes = std::fs::read(object).map_err(|e| format!("{}: {e}", object.display()))?;
    set_rodata_u32(&mut bytes, &[(tgid_knob, tgid), (comm_knob, comm)])?;
    let patched = scratch(stem, "patched.bpf.o");
    let pin = fs.path().join(format!("{stem}-link"));
    let result = (|| {
        std::fs::write(&patched, &bytes).map_err(|e| format!("{}: {e}", patched.display()))?;
        bpftool
            .run_isolated([OsStr::new("iter"), "pin".as_ref(), patched.as_os_str(), pin.as_os_str()])
            .map_err(|e| e.to_string())?;
        std::fs::read_to_string(&pin).map_err(|e| format!("reading the iterator {}: {e}", pin.display()))
    })();
    let _ = std::fs::remove_file(&pin);
    let _ = std::fs::remove_file(&patched);
    let text = result?;
    let me = std::process::id();
    let my_comm = std::fs::read_to_string("/proc/self/comm").map_err(|e| format!("/proc/self/comm: {e}"))?;
    let expected = format!("{me} {}", my_comm.trim_end_matches('\n'));
    let lines = text.lines().count();
    println!("{stem}: tgid at byte {tgid}, comm at byte {comm}; {lines} lines from the iterator");
    if !text.lines().any(|line| line == expected) {
        let head: Vec<&str> = text.lines().take(5).collect();
        return Err(format!("no line `{expected}` among the iterator's {lines} lines (first: {head:?})"));
    }
    println!("{stem}: lists this process as `{expected}`");
    Ok(())
}

/// Writes each `(symbol, value)` as a little-endian u32 at the symbol's place in `.rodata`.
fn set_rodata_u32(bytes: &mut [u8], values: &[(&str, u32)]) -> Result<(), String> {
    use object::{Object, ObjectSection, ObjectSymbol};
    let mut at = Vec::new();
    {
        let file = object::File::parse(&*bytes).map_err(|e| e.to_string())?;
        let rodata = file.section_by_name(".rodata").ok_or("no .rodata section")?;
        let (start, size) = rodata.file_range().ok_or(".rodata has no file data")?;
        for (name, value) in values {
            let symbol = file.symbol_by_name(name).ok_or_else(|| format!("no symbol {name}"))?;
            if symbol.section_index() != Some(rodata.index()) || symbol.size() != 4 || symbol.address() + 4 > size {
                return Err(format!("{name} is not a 4-byte variable in .rodata"));
            }
            at.push(((start + symbol.address()) as usize, *value));
        }
    }
    for (offset, value) in at {
        bytes[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
    }
    Ok(())
}
