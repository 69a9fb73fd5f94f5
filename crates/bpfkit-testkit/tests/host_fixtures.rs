//! Host-kernel tests: every committed BPF fixture in `bpf/` is accepted by the running kernel,
//! loaded by the reference loader (Debian sid's bpftool with libbpf, from the sid chroot). This
//! proves the fixtures themselves are right before bpfkit's own loader is tested against them.
//! Needs root; skipped with the reason printed otherwise (a failure under `BPFKIT_NO_SKIP=1`).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bpfkit_testkit::chroot::SidRoot;
use bpfkit_testkit::definitions::ObjectDefinitions;
use bpfkit_testkit::kernel::SidKernel;
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
    /// Needs something the host kernel lacks; checked in the VM instead.
    VmOnly(&'static str),
}

/// Every fixture, by file stem. A fixture missing from this table fails `fixtures_are_classified`.
const FIXTURES: &[(&str, HostCheck)] = &[
    ("minimal", HostCheck::GetpidCounter("counts")),
    ("maps", HostCheck::LoadAll),
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
