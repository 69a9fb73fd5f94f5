//! The VM tests: one binary that is both sides of the run.
//!
//! On the host, `main` boots the Debian sid kernel under QEMU (see `bpfkit_testkit::vm`) with
//! `nf_conntrack` and the project's test module loaded, and with this very executable as the
//! guest's test binary; the guest's verdict becomes this process's exit status. A second, short
//! boot runs a test that fails on purpose and checks that the failure comes back as one.
//! Inside the VM (`BPFKIT_IN_VM=1`), `main` runs the guest tests below.
//!
//! Skips (with the reason printed) when not root or QEMU/debootstrap are missing, unless
//! `BPFKIT_NO_SKIP=1`; `BPFKIT_SKIP_VM=1` skips on purpose. `BPFKIT_VM_DELIBERATE_FAIL=1` adds
//! the failing test to the main boot (the command must then fail). Arguments after `--` go to
//! the guest (`--only NAME`).

mod common;

use std::process::ExitCode;
use std::sync::Arc;

use bpfkit_btf::{Btf, Kind};
use bpfkit_testkit::chroot::SidRoot;
use bpfkit_testkit::guest::{self, GuestTest};
use bpfkit_testkit::kernel::SidKernel;
use bpfkit_testkit::reference::{self, Bpftool};
use bpfkit_testkit::vm::Vm;
use bpfkit_testkit::{cache, command, real_objects, skip};
use common::real_guest::GUEST_BPFKIT;

const GUEST_TESTS: &[GuestTest] = &[
    // First: it needs a registry no other test has searched module BTF through.
    GuestTest { name: "module_btf_memory_follows_use", run: module_btf_memory_follows_use },
    GuestTest { name: "module_btf", run: module_btf },
    GuestTest { name: "testmod_btf", run: testmod_btf },
    GuestTest { name: "testmod_distilled_base", run: testmod_distilled_base },
    GuestTest { name: "cli_kernel_with_modules", run: cli_kernel_with_modules },
    GuestTest { name: "testmod_struct_ops_by_reference", run: testmod_struct_ops_by_reference },
    GuestTest { name: "sched_ext_state", run: sched_ext_state },
    GuestTest { name: "loader_fentry_fexit", run: loader_fentry_fexit },
    GuestTest { name: "loader_kprobes", run: loader_kprobes },
    GuestTest { name: "loader_core_modules", run: loader_core_modules },
    GuestTest { name: "loader_module_externs", run: loader_module_externs },
    GuestTest { name: "loader_testmod_struct_ops", run: loader_testmod_struct_ops },
    GuestTest { name: "sched_ext_fifo", run: sched_ext_fifo },
    GuestTest { name: "sched_ext_vtime", run: sched_ext_vtime },
    GuestTest { name: "sched_ext_cid", run: sched_ext_cid },
    GuestTest { name: "sched_ext_abort", run: sched_ext_abort },
    GuestTest { name: "sched_ext_example", run: sched_ext_example },
    GuestTest { name: "deliberate_failure", run: deliberate_failure },
    GuestTest { name: "real_objects_load", run: common::real_guest::real_objects_load },
    GuestTest { name: "real_schedulers_run", run: common::real_guest::real_schedulers_run },
    GuestTest { name: "real_objects_details", run: common::real_guest::real_objects_details },
];

/// Tests that only run when asked for by name: the deliberate failure, and the real-object
/// tests, which get a boot of their own (the verifier takes its time under emulation).
const OPT_IN: &[&str] = &["deliberate_failure", REAL_OBJECTS[0], REAL_OBJECTS[1], REAL_OBJECTS[2]];

/// The guest tests of the real-object boot.
const REAL_OBJECTS: [&str; 3] = ["real_objects_load", "real_schedulers_run", "real_objects_details"];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !is_libtest_flag(a)).collect();
    if guest::in_vm() {
        return guest::run(GUEST_TESTS, OPT_IN, &args);
    }
    match host(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => {
            println!("vm tests FAILED: {why}");
            ExitCode::FAILURE
        }
    }
}

/// Flags cargo passes to every test binary (`cargo test -- --nocapture` and the like).
fn is_libtest_flag(arg: &str) -> bool {
    matches!(arg, "--nocapture" | "--quiet" | "-q" | "--show-output" | "--test-threads=1")
}

fn host(args: &[String]) -> Result<(), String> {
    if std::env::var_os("BPFKIT_SKIP_VM").is_some_and(|v| v == "1") {
        println!("skipped vm tests: BPFKIT_SKIP_VM=1");
        return Ok(());
    }
    if !skip::is_root() {
        return skip::skip("vm tests", "need root (debootstrap and chroot build the test module)");
    }
    for (tool, package) in [("qemu-system-x86_64", "qemu-system-x86"), ("debootstrap", "debootstrap")] {
        if !command::have(tool) {
            return skip::skip("vm tests", &format!("{tool} is not installed (Debian package {package})"));
        }
    }
    let me = std::env::current_exe().map_err(|e| format!("cannot find this test binary: {e}"))?;

    let mut guest_args = args.to_vec();
    if std::env::var_os("BPFKIT_VM_DELIBERATE_FAIL").is_some_and(|v| v == "1") {
        for test in GUEST_TESTS {
            guest_args.extend(["--only".to_owned(), test.name.to_owned()]);
        }
    }
    // The reference loader and the BPF objects it loads in the guest.
    let kernel = SidKernel::fetch().map_err(|e| e.to_string())?;
    let root = SidRoot::ensure(kernel.version()).map_err(|e| e.to_string())?;
    let bpftool_files = Bpftool::new(&root).and_then(|b| b.guest_files()).map_err(|e| e.to_string())?;
    let ops = cache::repo_root().join("bpf/testmod_ops.bpf.o");
    // The kernel's configuration where `__kconfig` externs look for it (`/boot/config-VERSION`):
    // the headers package in the chroot has it.
    let kbuild = SidRoot::kbuild_dir(kernel.version());
    let config = root.path().join(kbuild.trim_start_matches('/')).join(".config");
    let boot_config = format!("/boot/config-{}", kernel.version());
    // Objects nobody in this project wrote, for the real-object boot.
    let real = real_objects::all(&root).map_err(|e| format!("real objects: {e}"))?;
    let real_files = real_objects::guest_files(
        &real,
        &cache::root().map_err(|e| e.to_string())?.join(format!("real-objects/guest-{}", std::process::id())),
    )
    .map_err(|e| e.to_string())?;
    let run = Vm::new(&me)
        .module("nf_conntrack")
        .module("btrfs")
        .testmod()
        .files(bpftool_files.clone())
        .file(GUEST_TESTMOD_OPS, ops)
        .file(GUEST_FENTRY, cache::repo_root().join("bpf/fentry.bpf.o"))
        .file(GUEST_ATTACH, cache::repo_root().join("bpf/attach.bpf.o"))
        .file(GUEST_CORE_MODULES, cache::repo_root().join("bpf/core_modules.bpf.o"))
        .file(&boot_config, &config)
        .file(GUEST_EXTERNS, cache::repo_root().join("bpf/externs.bpf.o"))
        .file(GUEST_SCX_FIFO, cache::repo_root().join("bpf/scx_fifo.bpf.o"))
        .file(GUEST_SCX_VTIME, cache::repo_root().join("bpf/scx_vtime.bpf.o"))
        .file(GUEST_SCX_CID, cache::repo_root().join("bpf/scx_cid.bpf.o"))
        .files(scx_example(&me)?)
        .files([bpfkit_binary(&me)?])
        .file(GUEST_EXTERNS_MODULES, cache::repo_root().join("bpf/externs_modules.bpf.o"))
        .files(real_files.clone())
        .args(guest_args);
    let run = run.run().map_err(|e| e.to_string())?;
    println!(
        "vm: kernel {}, boot + guest tests {:.1} s, guest exit status {}",
        run.kernel,
        run.boot_and_run.as_secs_f64(),
        run.exit_code
    );
    if run.exit_code != 0 {
        return Err(format!("guest tests failed (exit status {})", run.exit_code));
    }

    // The real objects, in a boot of their own (same kernel and modules).
    if args.is_empty() {
        let real_run = Vm::new(&me)
            .module("nf_conntrack")
            .module("btrfs")
            .files(bpftool_files.clone())
            .file(&boot_config, &config)
            .files(real_files)
            .files([bpfkit_binary(&me)?])
            .args(REAL_OBJECTS.iter().flat_map(|t| ["--only", t]))
            .timeout(std::time::Duration::from_secs(real_objects_timeout()))
            .run()
            .map_err(|e| e.to_string())?;
        println!(
            "vm (real objects): boot + guest tests {:.1} s, guest exit status {}",
            real_run.boot_and_run.as_secs_f64(),
            real_run.exit_code
        );
        if real_run.exit_code != 0 {
            return Err(format!("real-object guest tests failed (exit status {})", real_run.exit_code));
        }
    }

    // The failure path: a guest test that fails must come back as a failure.
    if args.is_empty() {
        let failing =
            Vm::new(&me).args(["--only", "deliberate_failure"]).echo(false).run().map_err(|e| e.to_string())?;
        let reported = failing.console.contains("deliberate_failure ... FAILED");
        println!(
            "vm: a deliberately failing guest test gave exit status {} (reported on the console: {reported})",
            failing.exit_code
        );
        if failing.exit_code == 0 || !reported {
            return Err("a failing guest test was not reported as a failure".into());
        }
    }
    Ok(())
}

/// Time for the real-object boot: `$BPFKIT_VM_REAL_TIMEOUT` seconds, else 900.
fn real_objects_timeout() -> u64 {
    std::env::var("BPFKIT_VM_REAL_TIMEOUT").ok().and_then(|s| s.parse().ok()).unwrap_or(900)
}

// ---- guest side ------------------------------------------------------------------------------

/// Where the guest finds `bpf/testmod_ops.bpf.o`.
const GUEST_TESTMOD_OPS: &str = "/test/bpf/testmod_ops.bpf.o";
/// Where the guest finds `bpf/fentry.bpf.o`.
const GUEST_FENTRY: &str = "/test/bpf/fentry.bpf.o";
/// Where the guest finds `bpf/attach.bpf.o`.
const GUEST_ATTACH: &str = "/test/bpf/attach.bpf.o";
/// Where the guest finds `bpf/core_modules.bpf.o`.
const GUEST_CORE_MODULES: &str = "/test/bpf/core_modules.bpf.o";
/// Where the guest finds `bpf/scx_fifo.bpf.o`.
const GUEST_SCX_FIFO: &str = "/test/bpf/scx_fifo.bpf.o";
/// Where the guest finds the `scx_run` example (built by `cargo test` next to this binary).
const GUEST_SCX_RUN: &str = "/test/scx_run";

/// The `scx_run` example binary cargo built for this test run (`target/<profile>/examples/`).
fn scx_example(me: &std::path::Path) -> Result<Vec<(String, std::path::PathBuf)>, String> {
    let dir = me.parent().and_then(|d| d.parent()).ok_or("cannot locate the target directory")?;
    let example = dir.join("examples/scx_run");
    if example.is_file() {
        Ok(vec![(GUEST_SCX_RUN.to_owned(), example)])
    } else {
        Err(format!("{} is missing: `cargo test` (or `cargo build -p bpfkit --examples`) builds it", example.display()))
    }
}

/// The `bpfkit` binary cargo built for this test run (`target/<profile>/bpfkit`).
fn bpfkit_binary(me: &std::path::Path) -> Result<(String, std::path::PathBuf), String> {
    let dir = me.parent().and_then(|d| d.parent()).ok_or("cannot locate the target directory")?;
    let bin = dir.join("bpfkit");
    if bin.is_file() {
        Ok((GUEST_BPFKIT.to_owned(), bin))
    } else {
        Err(format!("{} is missing: `cargo test` (or `cargo build -p bpfkit-cli`) builds it", bin.display()))
    }
}

/// Where the guest finds `bpf/scx_vtime.bpf.o`.
const GUEST_SCX_VTIME: &str = "/test/bpf/scx_vtime.bpf.o";
/// Where the guest finds `bpf/scx_cid.bpf.o`.
const GUEST_SCX_CID: &str = "/test/bpf/scx_cid.bpf.o";
/// Where the guest finds `bpf/externs.bpf.o`.
const GUEST_EXTERNS: &str = "/test/bpf/externs.bpf.o";
/// Where the guest finds `bpf/externs_modules.bpf.o`.
const GUEST_EXTERNS_MODULES: &str = "/test/bpf/externs_modules.bpf.o";

fn vmlinux() -> Result<Arc<Btf>, String> {
    Btf::open("/sys/kernel/btf/vmlinux", None).map(Arc::new).map_err(|e| format!("/sys/kernel/btf/vmlinux: {e}"))
}

/// A module's BTF as the kernel exposes it: split on vmlinux, parsed and summarised.
fn open_module(name: &str, base: &Arc<Btf>) -> Result<Btf, String> {
    let path = format!("/sys/kernel/btf/{name}");
    let btf = Btf::open(&path, Some(base.clone())).map_err(|e| format!("{path}: {e}"))?;
    let mut counts = std::collections::BTreeMap::new();
    for ty in btf.types() {
        *counts.entry(ty.kind().to_string()).or_insert(0usize) += 1;
    }
    let kinds: Vec<String> = counts.iter().map(|(kind, n)| format!("{kind} {n}")).collect();
    println!(
        "{path}: {} bytes, {} own types (ids {}..), {} string bytes, sorted by name: {}",
        btf.raw_bytes().len(),
        btf.own_type_count(),
        btf.first_id(),
        btf.own_strings().len(),
        btf.is_sorted_by_name()
    );
    println!("  kinds: {}", kinds.join(", "));
    Ok(btf)
}

fn require(btf: &Btf, module: &str, name: &str, kind: Kind) -> Result<(), String> {
    match btf.find_own_by_name_kind(name, kind) {
        Some(id) => {
            println!("  {kind} {name}: id {id}");
            Ok(())
        }
        None => Err(format!("{module}: no {kind} named {name} in its own BTF")),
    }
}

/// nf_conntrack's BTF is split BTF on vmlinux, holds its own types and kfuncs, and vmlinux does
/// not have them.
fn module_btf() -> Result<(), String> {
    let entries = std::fs::read_dir("/sys/kernel/btf").map_err(|e| format!("/sys/kernel/btf: {e}"))?;
    let mut names: Vec<String> =
        entries.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    println!("/sys/kernel/btf: {}", names.join(" "));
    let base = vmlinux()?;
    println!("/sys/kernel/btf/vmlinux: {} types, sorted by name: {}", base.own_type_count(), base.is_sorted_by_name());
    let ct = open_module("nf_conntrack", &base)?;
    println!("  kfuncs: {}", kfuncs(&ct)?.join(" "));
    for (name, kind) in
        [("bpf_ct_opts", Kind::Struct), ("bpf_skb_ct_lookup", Kind::Func), ("bpf_ct_release", Kind::Func)]
    {
        require(&ct, "nf_conntrack", name, kind)?;
        if base.find_by_name_kind(name, kind).is_some() {
            return Err(format!("vmlinux itself has {kind} {name}: nf_conntrack is built in, not a module"));
        }
    }
    Ok(())
}

/// The FUNCs of `btf`'s own types that carry the `bpf_kfunc` declaration tag (how pahole marks
/// kfuncs since 1.25).
fn kfuncs(btf: &Btf) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    for ty in btf.types().filter(|t| t.kind() == Kind::DeclTag) {
        if ty.name().map_err(|e| e.to_string())? == "bpf_kfunc" {
            let func = btf.type_by_id(ty.size_or_type()).map_err(|e| e.to_string())?;
            names.push(func.name().map_err(|e| e.to_string())?.to_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// The test module's BTF shows everything it exports (see testmod/README.md).
fn testmod_btf() -> Result<(), String> {
    let base = vmlinux()?;
    let btf = open_module("bpfkit_testmod", &base)?;
    // The module's own definitions (its BTF also repeats the base types it uses).
    for ty in btf.types() {
        let name = ty.name().unwrap_or("?");
        if name.contains("bpfkit") || matches!(ty.kind(), Kind::Var | Kind::Datasec) {
            println!("  [{}] {} '{}'", ty.id(), ty.kind(), name);
        }
    }
    println!("  kfuncs: {}", kfuncs(&btf)?.join(" "));
    let module = "bpfkit_testmod";
    require(&btf, module, "bpfkit_testmod_point", Kind::Struct)?;
    require(&btf, module, "bpfkit_testmod_ops", Kind::Struct)?;
    require(&btf, module, "bpf_struct_ops_bpfkit_testmod_ops", Kind::Struct)?;
    require(&btf, module, "bpfkit_testmod_add", Kind::Func)?;
    require(&btf, module, "bpfkit_testmod_point_sum", Kind::Func)?;
    require(&btf, module, ".data..percpu", Kind::Datasec)?;
    require(&btf, module, "bpfkit_testmod_pcpu_point", Kind::Var)?;

    // The struct_ops trigger is there and refuses to run with no ops registered.
    let sysfs = "/sys/kernel/bpfkit_testmod";
    let active = std::fs::read_to_string(format!("{sysfs}/active")).map_err(|e| format!("{sysfs}/active: {e}"))?;
    println!("{sysfs}/active: {}", active.trim());
    match std::fs::write(format!("{sysfs}/trigger"), "6 7") {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            println!("{sysfs}/trigger with no ops registered: {e} (as documented)");
            Ok(())
        }
        other => Err(format!("{sysfs}/trigger with no ops registered: expected ENOENT, got {other:?}")),
    }
}

/// The test module's struct_ops type runs a BPF implementation: libbpf (through the reference
/// `bpfkit kernel` with modules loaded: their BTF, their kfuncs with prototypes and their
/// struct_ops types are listed next to vmlinux's, in text and in JSON.
fn cli_kernel_with_modules() -> Result<(), String> {
    let run = |args: &[&str]| -> Result<String, String> {
        let out =
            std::process::Command::new(GUEST_BPFKIT).args(args).output().map_err(|e| format!("{GUEST_BPFKIT}: {e}"))?;
        if !out.status.success() {
            return Err(format!("bpfkit {args:?}: {}", String::from_utf8_lossy(&out.stderr)));
        }
        String::from_utf8(out.stdout).map_err(|e| format!("bpfkit {args:?}: {e}"))
    };
    let text = run(&["kernel"])?;
    let btf_section: Vec<&str> = text.lines().skip(1).take_while(|l| l.starts_with("  ")).collect();
    for module in ["vmlinux", "nf_conntrack", "btrfs", "bpfkit_testmod"] {
        if !btf_section.iter().any(|l| l.split_whitespace().next() == Some(module)) {
            return Err(format!("`bpfkit kernel` lists no BTF of {module}:\n{text}"));
        }
    }
    let expected = [
        ("bpfkit_testmod", "u64 bpfkit_testmod_add(u64 a, u64 b)"),
        ("nf_conntrack", "bpf_ct_release(struct nf_conn *nfct)"),
    ];
    for (module, prototype) in expected {
        if !text.lines().any(|l| l.trim_start().starts_with(module) && l.contains(prototype)) {
            return Err(format!("`bpfkit kernel` lists no {module} kfunc {prototype}:\n{text}"));
        }
    }
    for ops in ["bpfkit_testmod_ops", "sched_ext_ops", "tcp_congestion_ops"] {
        if !text.lines().any(|l| l.trim() == ops || l.trim().starts_with(&format!("{ops} "))) {
            return Err(format!("`bpfkit kernel` lists no struct_ops type {ops}:\n{text}"));
        }
    }
    let json = run(&["kernel", "--filter", "bpfkit_testmod", "--json"])?;
    if !json.contains(r#""name":"bpfkit_testmod","bytes":"#) || !json.contains(r#""module":"bpfkit_testmod""#) {
        return Err(format!("--filter bpfkit_testmod --json: {json}"));
    }
    println!(
        "bpfkit kernel: {} lines; BTF of {} objects; --json --filter bpfkit_testmod: {} bytes",
        text.lines().count(),
        btf_section.len(),
        json.len()
    );
    Ok(())
}

/// The module file the guest loaded, `/modules/NN-<name>.ko`.
fn guest_module_file(name: &str) -> Result<std::path::PathBuf, String> {
    let suffix = format!("-{name}.ko");
    std::fs::read_dir("/modules")
        .map_err(|e| format!("/modules: {e}"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with(&suffix)))
        .ok_or_else(|| format!("{name}.ko not in /modules"))
}

/// The test module is built out of tree, so kbuild gives it a distilled base (`.BTF.base`) and
/// the kernel relocated its BTF onto vmlinux at insmod. bpfkit's relocation of the `.ko` file
/// onto the running vmlinux must give exactly the bytes `/sys/kernel/btf/bpfkit_testmod` shows.
fn testmod_distilled_base() -> Result<(), String> {
    let ko = guest_module_file("bpfkit_testmod")?;
    let module = bpfkit_btf::ModuleFile::open(&ko).map_err(|e| format!("{}: {e}", ko.display()))?;
    if !module.has_distilled_base() {
        return Err(format!("{} has no .BTF.base (built by a pahole without distilled_base?)", ko.display()));
    }
    let base = vmlinux()?;
    let on_distilled = module.btf_on(None).map_err(|e| e.to_string())?;
    let relocation = bpfkit_btf::relocate(&on_distilled, base.clone()).map_err(|e| e.to_string())?;
    let ours = relocation.btf();
    let sysfs_path = "/sys/kernel/btf/bpfkit_testmod";
    let sysfs = std::fs::read(sysfs_path).map_err(|e| format!("{sysfs_path}: {e}"))?;
    println!(
        "{}: {} distilled base types mapped onto vmlinux; {} own types relocated to ids {}.., {} bytes",
        ko.display(),
        relocation.distilled_count(),
        ours.own_type_count(),
        ours.first_id(),
        ours.raw_bytes().len()
    );
    if ours.raw_bytes() == sysfs.as_slice() {
        println!("  identical to {sysfs_path}, byte for byte");
        return Ok(());
    }
    // Say where they differ: the first type whose record is not the same.
    let kernel = Btf::parse_split(sysfs, base).map_err(|e| format!("{sysfs_path}: {e}"))?;
    for (a, b) in ours.types().zip(kernel.types()) {
        if a.record() != b.record() {
            return Err(format!(
                "type [{}] differs: ours {:?} {:?}, the kernel's {:?} {:?}",
                a.id(),
                a.kind(),
                a.to_record(),
                b.kind(),
                b.to_record()
            ));
        }
    }
    Err(format!(
        "same records, different blobs: ours {} types / {} string bytes, the kernel's {} / {}",
        ours.own_type_count(),
        ours.own_strings().len(),
        kernel.own_type_count(),
        kernel.own_strings().len()
    ))
}

/// bpftool) registers `bpf/testmod_ops.bpf.o`, the module's trigger calls it and returns what
/// the BPF code computes, and removing the link unregisters it. This checks the module and the
/// fixture independently of bpfkit's own loader.
fn testmod_struct_ops_by_reference() -> Result<(), String> {
    let sysfs = "/sys/kernel/bpfkit_testmod";
    let read = |file: &str| {
        std::fs::read_to_string(format!("{sysfs}/{file}"))
            .map(|s| s.trim().to_owned())
            .map_err(|e| format!("{sysfs}/{file}: {e}"))
    };
    let links = "/sys/fs/bpf/bpfkit-links";
    std::fs::create_dir_all(links).map_err(|e| format!("{links}: {e}"))?;
    let out = std::process::Command::new(reference::GUEST_COMMAND[0])
        .args(&reference::GUEST_COMMAND[1..])
        .args(["struct_ops", "register", GUEST_TESTMOD_OPS, links])
        .output()
        .map_err(|e| format!("cannot run bpftool: {e}"))?;
    println!("bpftool struct_ops register: {} {}", out.status, String::from_utf8_lossy(&out.stderr).trim());
    // bpftool 7.8 registers module struct_ops and then crashes printing them (it looks the value
    // type up in vmlinux only). Accept that crash, and only that, when the link is in place.
    let crashed_after = std::os::unix::process::ExitStatusExt::signal(&out.status) == Some(11);
    if !out.status.success() && !crashed_after {
        return Err(format!("bpftool struct_ops register failed: {}", out.status));
    }
    let active = read("active")?;
    println!("{sysfs}/active: {active}");
    if !active.starts_with('1') {
        return Err(format!("no ops registered after bpftool ran (active: {active})"));
    }
    std::fs::write(format!("{sysfs}/trigger"), "6 7").map_err(|e| format!("{sysfs}/trigger: {e}"))?;
    let result = read("result")?;
    println!("trigger 6 7 -> result {result} (the BPF compute() returns a + b + 100 + a * b = 155)");
    if result != "155" {
        return Err(format!("trigger result {result}, expected 155 from the BPF implementation"));
    }
    for entry in std::fs::read_dir(links).map_err(|e| format!("{links}: {e}"))? {
        let path = entry.map_err(|e| format!("{links}: {e}"))?.path();
        std::fs::remove_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    // The link goes away with its last reference; the module sees unreg() shortly after.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while read("active")?.starts_with('1') {
        if std::time::Instant::now() > deadline {
            return Err("ops still registered 5 s after the link pin was removed".into());
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    println!("link unpinned -> {sysfs}/active: {}", read("active")?);
    Ok(())
}

/// sched_ext is built into the sid kernel and idle: no scheduler attached yet.
fn sched_ext_state() -> Result<(), String> {
    let state = std::fs::read_to_string("/sys/kernel/sched_ext/state")
        .map_err(|e| format!("/sys/kernel/sched_ext/state: {e} (kernel without sched_ext?)"))?;
    println!("/sys/kernel/sched_ext/state: {}", state.trim());
    match std::fs::read_to_string("/sys/kernel/sched_ext/root/ops") {
        Ok(ops) => println!("/sys/kernel/sched_ext/root/ops: {}", ops.trim()),
        Err(e) => println!("/sys/kernel/sched_ext/root/ops: {e}"),
    }
    if state.trim() != "disabled" {
        return Err(format!("expected state 'disabled' with no scheduler attached, got '{}'", state.trim()));
    }
    Ok(())
}

/// bpfkit's own loader on BPF trampolines (the CI host refuses them, see bpf/fentry.bpf.c):
/// fentry and fexit on `__sys_listen`, attached through links found from kernel BTF, see the
/// arguments and return value of the test's own `listen(-1, 4242)` calls; dropping the links
/// detaches them.
fn loader_fentry_fexit() -> Result<(), String> {
    let mut open = bpfkit::OpenObject::open(GUEST_FENTRY).map_err(|e| e.to_string())?;
    open.set_global_as("target_tgid", &std::process::id()).map_err(|e| e.to_string())?;
    let obj = open.load().map_err(|e| e.to_string())?;
    let links = obj.attach_all().map_err(|e| e.to_string())?;
    println!(
        "attached {} programs: {}",
        links.len(),
        obj.programs().map(|p| p.section()).collect::<Vec<_>>().join(", ")
    );
    let listen = || {
        // SAFETY: listen(2) on an invalid fd only returns an error.
        unsafe { libc::listen(-1, 4242) }
    };
    for _ in 0..3 {
        listen();
    }
    let global = |name: &str| obj.global(name).map_err(|e| e.to_string());
    let int = |name: &str| -> Result<i32, String> {
        let b = global(name)?;
        Ok(i32::from_ne_bytes(b.get(..4).and_then(|b| b.try_into().ok()).ok_or("short global")?))
    };
    let calls = obj.map("calls").map_err(|e| e.to_string())?;
    let count = |slot: u32| calls.lookup_as::<u32, u64>(&slot).map_err(|e| e.to_string());
    let seen = (count(0)?, count(1)?, int("last_fd")?, int("last_backlog")?, int("exit_backlog")?, int("last_ret")?);
    println!(
        "after 3 x listen(-1, 4242): calls [{:?}, {:?}], last_fd {}, last_backlog {}, exit_backlog {}, last_ret {}",
        seen.0, seen.1, seen.2, seen.3, seen.4, seen.5
    );
    if seen != (Some(3), Some(3), -1, 4242, 4242, -libc::EBADF) {
        return Err(format!("unexpected fentry/fexit observations {seen:?}"));
    }
    drop(links);
    listen();
    if count(0)? != Some(3) {
        return Err("fentry still counts after its link was dropped".into());
    }

    // A module function as the target (`fentry/MODULE:FUNC`): the id is the module's, and the
    // kernel gets the module's BTF fd with it (attach_btf_obj_fd), or it rejects the program.
    let retarget = |section: &str| -> Result<bpfkit::OpenObject, String> {
        let mut open = bpfkit::OpenObject::open(GUEST_FENTRY).map_err(|e| e.to_string())?;
        open.load_only(&["on_listen_entry"]).map_err(|e| e.to_string())?;
        let prog = open.program_mut("on_listen_entry").map_err(|e| e.to_string())?;
        prog.kind = bpfkit::bpfkit_obj::ProgramSection::parse(section);
        Ok(open)
    };
    let obj = retarget("fentry/bpfkit_testmod:bpfkit_testmod_add")?.load().map_err(|e| e.to_string())?;
    let link = obj.program("on_listen_entry").and_then(|p| p.attach()).map_err(|e| e.to_string())?;
    println!("fentry/bpfkit_testmod:bpfkit_testmod_add loaded and attached");
    drop(link);
    match retarget("fentry/bpfkit_no_such_module:f")?.load() {
        Err(e) if e.to_string().contains("bpfkit_no_such_module is not loaded") => println!("missing module: {e}"),
        other => return Err(format!("a target in a missing module must be refused by name, got {other:?}")),
    }
    Ok(())
}

/// bpfkit's kprobe attachments (the CI host has no kprobes): a kprobe and a kretprobe through
/// the kprobe PMU, a kprobe_multi link and a ksyscall probe on `getppid`, each counting the
/// test's own calls, and none counting once its link is dropped.
fn loader_kprobes() -> Result<(), String> {
    let mut open = bpfkit::OpenObject::open(GUEST_ATTACH).map_err(|e| e.to_string())?;
    open.set_global_as("target_tgid", &std::process::id()).map_err(|e| e.to_string())?;
    let probes = [
        ("on_getppid_kprobe", "kprobe_hits"),
        ("on_getppid_kretprobe", "kretprobe_hits"),
        ("on_getppid_multi", "multi_hits"),
        ("on_getppid_ksyscall", "ksyscall_hits"),
    ];
    let names: Vec<&str> = probes.iter().map(|(p, _)| *p).collect();
    open.load_only(&names).map_err(|e| e.to_string())?;
    let obj = open.load().map_err(|e| e.to_string())?;
    let getppid = || {
        // SAFETY: getppid has no preconditions.
        unsafe { libc::syscall(libc::SYS_getppid) };
    };
    let count = |name: &str| obj.global_as::<u64>(name).map_err(|e| e.to_string());
    for (program, counter) in probes {
        let link = obj.program(program).and_then(|p| p.attach()).map_err(|e| e.to_string())?;
        for _ in 0..3 {
            getppid();
        }
        let hits = count(counter)?;
        println!("{program}: {counter} = {hits} after 3 getppid()");
        // The kprobe_multi target (__task_pid_nr_ns) also serves other pid lookups of ours.
        let exact = program != "on_getppid_multi";
        if hits < 3 || (exact && hits != 3) {
            return Err(format!("{program}: expected 3 hits, got {hits}"));
        }
        drop(link);
        getppid();
        if count(counter)? != hits {
            return Err(format!("{program} still counts after its link was dropped"));
        }
    }
    Ok(())
}

/// Runs `bpf/core_modules.bpf.o` with bpfkit and returns its `.bss` values by name.
fn core_module_values() -> Result<std::collections::BTreeMap<String, u64>, String> {
    let obj = bpfkit::OpenObject::open(GUEST_CORE_MODULES).and_then(|o| o.load()).map_err(|e| e.to_string())?;
    obj.program("module_types").and_then(|p| p.test_run(&mut bpfkit::TestRun::default())).map_err(|e| e.to_string())?;
    let names = [
        "btrfs_inode_exists",
        "btrfs_generation_offset",
        "btrfs_vfs_inode_offset",
        "btrfs_inode_size",
        "btrfs_inode_id",
        "point_exists",
        "point_y_offset",
        "point_hi_offset",
        "point_hist2_offset",
        "point_level_lshift",
        "point_level_rshift",
        "point_size",
        "point_id",
        "runs",
    ];
    names.iter().map(|n| Ok(((*n).to_owned(), obj.global_as::<u64>(n).map_err(|e| e.to_string())?))).collect()
}

/// Module BTF memory follows the modules programs use: none held before any load needs a module
/// type, none after loading an object that needs only vmlinux types; after loading one whose
/// CO-RE relocations use btrfs and test-module types, the registry holds those two modules' BTF
/// and not the others' (nf_conntrack is loaded and was searched too).
fn module_btf_memory_follows_use() -> Result<(), String> {
    let registry = bpfkit::kernel_btf::registry().map_err(|e| e.to_string())?;
    let held = |when: &str| {
        let (names, bytes) = registry.held_modules();
        println!(
            "module BTF held {when}: {bytes} bytes ({})",
            if names.is_empty() { "none".into() } else { names.join(", ") }
        );
        (names, bytes)
    };
    if held("at start").1 != 0 {
        return Err("module BTF held before anything needed it".into());
    }
    let obj = bpfkit::OpenObject::open(GUEST_FENTRY).and_then(|o| o.load()).map_err(|e| e.to_string())?;
    drop(obj);
    if held("after loading fentry.bpf.o (vmlinux types only)").1 != 0 || registry.module_walks() != 0 {
        return Err("a vmlinux-only object made the registry hold module BTF".into());
    }
    let obj = bpfkit::OpenObject::open(GUEST_CORE_MODULES).and_then(|o| o.load()).map_err(|e| e.to_string())?;
    drop(obj);
    let (mut names, bytes) = held("after loading core_modules.bpf.o (btrfs and bpfkit_testmod types)");
    names.sort();
    if names != ["bpfkit_testmod", "btrfs"] {
        return Err(format!("expected the BTF of btrfs and bpfkit_testmod only, the registry holds {names:?}"));
    }
    let all: usize = registry.modules().map_err(|e| e.to_string())?.iter().map(|m| m.btf.raw_bytes().len()).sum();
    println!("  ({bytes} of the {all} bytes of all loaded modules' BTF; {} module walks)", registry.module_walks());
    registry.release_unused();
    Ok(())
}

/// CO-RE against module BTF: with btrfs and the test module loaded, types only they define
/// resolve, with offsets, sizes and ids as their own BTF (sysfs) gives them; after `rmmod btrfs`
/// the same object sees no btrfs_inode (its field relocations poisoned in dead code), and after
/// loading btrfs again it sees it again. Loading an object that needs only vmlinux types never
/// looks for module BTF.
fn loader_core_modules() -> Result<(), String> {
    let base = vmlinux()?;
    let btrfs = open_module("btrfs", &base)?;
    let testmod = open_module("bpfkit_testmod", &base)?;
    let member = |btf: &Btf, ty: &str, path: &[&str]| -> Result<u64, String> {
        let mut id = btf.find_own_by_name_kind(ty, Kind::Struct).ok_or(format!("no struct {ty}"))?;
        let mut bits = 0;
        for (i, name) in path.iter().enumerate() {
            let m = btf.find_member(id, name).map_err(|e| e.to_string())?.ok_or(format!("no {ty}.{name}"))?;
            bits += m.bit_offset;
            if i + 1 < path.len() {
                let parent = btf.type_by_id(m.parent).map_err(|e| e.to_string())?;
                let mt = parent.members().get(m.index).ok_or("member index")?;
                id = btf.resolve(mt.ty).map_err(|e| e.to_string())?;
            }
        }
        Ok(bits / 8)
    };
    let btrfs_inode = btrfs.find_own_by_name_kind("btrfs_inode", Kind::Struct).ok_or("btrfs has no btrfs_inode")?;
    let point = testmod.find_own_by_name_kind("bpfkit_testmod_point", Kind::Struct).ok_or("no bpfkit_testmod_point")?;
    let expected_btrfs = [
        ("btrfs_inode_exists", 1),
        ("btrfs_generation_offset", member(&btrfs, "btrfs_inode", &["generation"])?),
        ("btrfs_vfs_inode_offset", member(&btrfs, "btrfs_inode", &["vfs_inode"])?),
        ("btrfs_inode_size", btrfs.size_of(btrfs_inode).map_err(|e| e.to_string())?),
        ("btrfs_inode_id", u64::from(btrfs_inode)),
    ];
    let expected_point = [
        ("point_exists", 1),
        ("point_y_offset", 8),
        ("point_hi_offset", 22),
        ("point_hist2_offset", 32),
        ("point_level_lshift", 48),
        ("point_level_rshift", 56),
        ("point_size", 48),
        ("point_id", u64::from(point)),
    ];
    let check = |got: &std::collections::BTreeMap<String, u64>, want: &[(&str, u64)]| -> Result<(), String> {
        for (name, value) in want {
            let seen = got.get(*name).copied().unwrap_or(u64::MAX);
            println!("  {name} = {seen} (module BTF: {value})");
            if seen != *value {
                return Err(format!("{name}: the program saw {seen}, the module's BTF says {value}"));
            }
        }
        Ok(())
    };
    let by_name = bpfkit::kernel_btf::module_from_sysfs("btrfs").map_err(|e| e.to_string())?;
    if by_name.find_own_by_name_kind("btrfs_inode", Kind::Struct) != Some(btrfs_inode) {
        return Err("module_from_sysfs(\"btrfs\") does not give btrfs's own BTF".into());
    }
    println!("with btrfs and bpfkit_testmod loaded:");
    let got = core_module_values()?;
    check(&got, &expected_btrfs)?;
    check(&got, &expected_point)?;

    let run = |cmd: &str, args: &[&str]| -> Result<(), String> {
        let out = std::process::Command::new(cmd).args(args).output().map_err(|e| format!("{cmd}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!("{cmd} {args:?}: {}", String::from_utf8_lossy(&out.stderr)))
        }
    };
    run("rmmod", &["btrfs"])?;
    println!("after rmmod btrfs:");
    let got = core_module_values()?;
    check(&got, &[("btrfs_inode_exists", 0), ("btrfs_generation_offset", 0)])?;
    check(&got, &expected_point)?;
    let ko = guest_module_file("btrfs")?;
    run("insmod", &[&ko.to_string_lossy()])?;
    println!("after insmod btrfs again:");
    let got = core_module_values()?;
    check(&got, &expected_btrfs[..1])?;

    // vmlinux types only: module BTF is never looked for.
    let registry = bpfkit::kernel_btf::registry().map_err(|e| e.to_string())?;
    let walks = registry.module_walks();
    let obj = bpfkit::OpenObject::open(GUEST_FENTRY).and_then(|o| o.load()).map_err(|e| e.to_string())?;
    drop(obj);
    if registry.module_walks() != walks {
        return Err("loading an object with vmlinux targets only looked for module BTF".into());
    }
    println!("an object needing only vmlinux BTF loaded without looking for module BTF");
    Ok(())
}

/// Externs in module BTF: nf_conntrack's XDP conntrack kfuncs and the test module's kfunc in
/// one XDP program (two fd_array slots) run with `BPF_PROG_RUN`; the test module's kfunc and
/// its per-CPU variables (values the module set); vmlinux's typed per-CPU `bpf_prog_active`; a
/// kfunc of a module that is not loaded refused by name; and 1,000 load/drop cycles of the
/// module-kfunc program leave the fd count unchanged.
fn loader_module_externs() -> Result<(), String> {
    let e = |e: bpfkit::Error| e.to_string();
    let open = |only: &[&str]| -> Result<bpfkit::OpenObject, String> {
        let mut o = bpfkit::OpenObject::open(GUEST_EXTERNS_MODULES).map_err(e)?;
        o.load_only(only).map_err(e)?;
        Ok(o)
    };
    let obj = open(&["ct_lookup", "testmod_values"])?.load().map_err(e)?;
    let mut frame = vec![0u8; 64];
    frame[12] = 0x08; // IPv4
    let run = obj
        .program("ct_lookup")
        .and_then(|p| p.test_run(&mut bpfkit::TestRun { data_in: &frame, ..Default::default() }))
        .map_err(e)?;
    let get = |n: &str| obj.global_as::<u64>(n).map_err(e);
    println!(
        "ct_lookup: retval {}, ct_error {}, ct_found {}, xdp_sum {}",
        run.retval,
        get("ct_error")? as i64,
        get("ct_found")?,
        get("xdp_sum")?
    );
    if (run.retval, get("ct_error")? as i64, get("ct_found")?, get("xdp_sum")?) != (2, -2, 0, 42) {
        return Err("nf_conntrack/testmod kfuncs did not give the expected results".into());
    }
    obj.program("testmod_values").and_then(|p| p.test_run(&mut bpfkit::TestRun::default())).map_err(e)?;
    let (sum, pcpu, cpu, y) = (get("sum")?, get("pcpu_u64")?, get("cpu")?, get("cpu0_point_y")?);
    println!("testmod_values: sum {sum}, pcpu_u64 {pcpu:#x} on cpu {cpu}, cpu 0 point.y {y}");
    if (sum, pcpu, y) != (1337, 0xb0_f000_0000 + cpu, 1_000_000) {
        return Err("the test module's kfunc or per-CPU variables gave unexpected values".into());
    }
    drop(obj);

    // A vmlinux typed per-CPU ksym (the CI host's kernel cannot resolve those).
    let mut o = bpfkit::OpenObject::open(GUEST_EXTERNS).map_err(e)?;
    o.load_only(&["use_percpu"]).map_err(e)?;
    let obj = o.load().map_err(e)?;
    obj.program("use_percpu").and_then(|p| p.test_run(&mut bpfkit::TestRun::default())).map_err(e)?;
    let (active, seen) =
        (obj.global_as::<u64>("this_cpu_active").map_err(e)?, obj.global_as::<u64>("cpu0_seen").map_err(e)?);
    println!("bpf_prog_active on this CPU: {active}, CPU 0's copy found: {seen}");
    if seen != 1 || active > 16 {
        return Err("typed per-CPU ksym bpf_prog_active not read".into());
    }
    drop(obj);

    // The caller may say which module a symbol must come from.
    let mut chosen = open(&["testmod_values"])?;
    chosen.set_extern_module("bpfkit_testmod_add", "bpfkit_testmod");
    drop(chosen.load().map_err(e)?);
    let mut wrong = open(&["testmod_values"])?;
    wrong.set_extern_module("bpfkit_testmod_add", "nf_conntrack");
    match wrong.load() {
        Err(err) if err.to_string().contains("module nf_conntrack has no bpfkit_testmod_add") => {
            println!("a symbol pinned to the wrong module: {err}");
        }
        other => return Err(format!("expected bpfkit_testmod_add pinned to nf_conntrack to fail, got {other:?}")),
    }

    // fou is not loaded: its kfunc is refused by name.
    match open(&["fou_encap"])?.load() {
        Err(bpfkit::Error::Externs { unresolved, .. })
            if unresolved.iter().any(|u| u.contains("bpf_skb_set_fou_encap")) =>
        {
            println!("kfunc of an unloaded module: {}", unresolved.join("; "));
        }
        other => return Err(format!("expected bpf_skb_set_fou_encap to be unresolved, got {other:?}")),
    }

    // The inspection API sees module kfuncs with their module and prototype.
    let kfuncs = bpfkit::kernel_btf::registry().and_then(|r| r.kfuncs()).map_err(e)?;
    let add = kfuncs.iter().find(|k| k.name == "bpfkit_testmod_add").ok_or("bpfkit_testmod_add not listed")?;
    let ct = kfuncs.iter().find(|k| k.name == "bpf_xdp_ct_lookup").ok_or("bpf_xdp_ct_lookup not listed")?;
    println!("kfuncs: {} in all; {:?}: {}; {:?}: {}", kfuncs.len(), add.module, add.prototype, ct.module, ct.prototype);
    if add.module.as_deref() != Some("bpfkit_testmod") || add.prototype != "u64 bpfkit_testmod_add(u64 a, u64 b)" {
        return Err(format!("unexpected listing of bpfkit_testmod_add: {add:?}"));
    }
    if ct.module.as_deref() != Some("nf_conntrack") {
        return Err(format!("unexpected listing of bpf_xdp_ct_lookup: {ct:?}"));
    }

    let fds = || std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0);
    drop(open(&["ct_lookup"])?.load().map_err(e)?);
    let before = fds();
    for _ in 0..1000 {
        drop(open(&["ct_lookup"])?.load().map_err(e)?);
    }
    let after = fds();
    println!("1000 loads of a program with two modules' kfuncs: fds {before} -> {after}");
    if after != before {
        return Err(format!("fds grew from {before} to {after}"));
    }
    Ok(())
}

/// bpfkit registers the test module's own struct_ops type (found in module BTF, value type fd
/// passed): the module's trigger calls the BPF implementation and returns what it computes
/// (its programs use the module's kfuncs, per-CPU variables and CO-RE on module types); after
/// the link drops, the module sees the ops unregistered.
fn loader_testmod_struct_ops() -> Result<(), String> {
    let sysfs = "/sys/kernel/bpfkit_testmod";
    let read = |file: &str| {
        std::fs::read_to_string(format!("{sysfs}/{file}"))
            .map(|s| s.trim().to_owned())
            .map_err(|e| format!("{sysfs}/{file}: {e}"))
    };
    let obj = bpfkit::OpenObject::open(GUEST_TESTMOD_OPS).and_then(|o| o.load()).map_err(|e| e.to_string())?;
    let map = obj
        .maps()
        .find(|m| matches!(m.kind(), bpfkit::bpfkit_obj::MapKind::StructOps { .. }))
        .ok_or("no struct_ops map")?;
    let link = map.attach_struct_ops().map_err(|e| e.to_string())?;
    let active = read("active")?;
    println!("registered {} with bpfkit: {sysfs}/active = {active}", map.name());
    if !active.starts_with('1') {
        return Err(format!("the module sees no ops registered (active: {active})"));
    }
    std::fs::write(format!("{sysfs}/trigger"), "6 7").map_err(|e| format!("{sysfs}/trigger: {e}"))?;
    let result = read("result")?;
    println!("trigger 6 7 -> result {result} (the BPF compute() returns a + b + 100 + a * b = 155)");
    if result != "155" {
        return Err(format!("trigger result {result}, expected 155"));
    }
    drop(link);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while read("active")?.starts_with('1') {
        if std::time::Instant::now() > deadline {
            return Err("ops still registered 5 s after the link was dropped".into());
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    println!("link dropped -> {sysfs}/active: {}", read("active")?);
    Ok(())
}

/// Loads `bpf/scx_fifo.bpf.o` with the kernel's enum values filled in.
fn scx_fifo(bad_dsq: u64) -> Result<bpfkit::Object, String> {
    scx_object(GUEST_SCX_FIFO, Some(bad_dsq))
}

/// Loads a scheduler object with the kernel's enum values filled in (and `bad_dsq` set).
fn scx_object(path: &str, bad_dsq: Option<u64>) -> Result<bpfkit::Object, String> {
    let e = |e: bpfkit::Error| e.to_string();
    let mut open = bpfkit::OpenObject::open(path).map_err(e)?;
    let filled = bpfkit::sched_ext::init_enums(&mut open).map_err(e)?;
    let slice = open.model().global("__SCX_SLICE_DFL").map_err(|err| err.to_string())?.to_vec();
    println!(
        "init_enums: {filled} values, __SCX_SLICE_DFL = {}",
        u64::from_le_bytes(slice.try_into().map_err(|_| "size")?)
    );
    if let Some(bad) = bad_dsq {
        open.set_global_as("bad_dsq", &bad).map_err(e)?;
    }
    open.load().map_err(e)
}

/// The FIFO scheduler runs the machine: attached, the kernel reports it enabled under its name;
/// CPU-bound and sleeping workloads complete while its enqueue and dispatch counters grow; after
/// detaching, sched_ext is disabled and the exit info says it was unregistered cleanly.
fn sched_ext_fifo() -> Result<(), String> {
    run_scheduler(scx_fifo(0)?, "bpfkit_fifo")
}

/// The weighted vtime scheduler, the same way.
fn sched_ext_vtime() -> Result<(), String> {
    run_scheduler(scx_object(GUEST_SCX_VTIME, None)?, "bpfkit_vtime")
}

/// The cid form (`sched_ext_ops_cid`, Linux 7.2) registers like the cpu form: `prepare` finds
/// it and moves scx's prolog probe to `bpf_scx_reg_cid`, where it fires at registration; the
/// scheduler carries the workloads and unregisters cleanly.
fn sched_ext_cid() -> Result<(), String> {
    let e = |e: bpfkit::Error| e.to_string();
    let mut open = bpfkit::OpenObject::open(GUEST_SCX_CID).map_err(e)?;
    let prepared = bpfkit::sched_ext::prepare(&mut open).map_err(e)?;
    println!("prepared: {prepared:?}");
    if prepared.ops_type != "sched_ext_ops_cid" || prepared.ops_map != "cid_ops" {
        return Err(format!(
            "prepare found {} ({}), expected cid_ops (sched_ext_ops_cid)",
            prepared.ops_map, prepared.ops_type
        ));
    }
    let obj = open.load().map_err(e)?;
    // The kernel takes a cid-form scheduler only with an arena; its __arena global starts at
    // the initial value the loader put into the arena.
    let (arena_at, _) = obj.map("arena").map_err(e)?.arena_region().ok_or("the arena is not mapped")?;
    let initial = obj.global_as::<u64>("in_arena").map_err(e)?;
    println!("arena at {arena_at:#x}, in_arena = {initial}");
    if initial != 1000 {
        return Err(format!("the __arena global reads {initial}, its initial value is 1000"));
    }
    let sched = bpfkit::sched_ext::Scheduler::attach(obj).map_err(e)?;
    let (state, ops) = (bpfkit::sched_ext::state().map_err(e)?, bpfkit::sched_ext::current_ops());
    let probe = sched.object().global_as::<u64>("probe_fired").map_err(e)?;
    println!("attached: state {state}, root/ops {ops:?}, prolog probe fired: {probe}");
    if state != "enabled" || ops.as_deref() != Some("bpfkit_cid") || probe != 1 {
        return Err(format!("expected enabled, ops bpfkit_cid, probe 1; got {state} / {ops:?} / {probe}"));
    }
    let before = sched.object().global_as::<u64>("enqueued").map_err(e)?;
    let took = common::real_guest::workloads(300)?;
    let after = sched.object().global_as::<u64>("enqueued").map_err(e)?;
    let in_arena = sched.object().global_as::<u64>("in_arena").map_err(e)?;
    println!("workloads done in {took:.2?}: enqueued {before} -> {after}, in_arena {in_arena}");
    if after <= before || in_arena <= 1000 {
        return Err("ops.enqueue did not run while tasks ran".into());
    }
    let info = sched.detach().map_err(e)?;
    println!("detached: {info} (kind {})", info.kind);
    if !info.is_clean() {
        return Err(format!("expected a clean unregistration, got {info:?}"));
    }
    Ok(())
}

/// Attaches a scheduler, runs CPU-bound and sleeping workloads under it, checks its counters
/// and the kernel's state, and detaches it cleanly.
fn run_scheduler(obj: bpfkit::Object, name: &str) -> Result<(), String> {
    let e = |e: bpfkit::Error| e.to_string();
    let sched = bpfkit::sched_ext::Scheduler::attach(obj).map_err(e)?;
    let (state, ops) = (bpfkit::sched_ext::state().map_err(e)?, bpfkit::sched_ext::current_ops());
    println!("attached: state {state}, root/ops {ops:?}");
    if state != "enabled" || ops.as_deref() != Some(name) {
        return Err(format!("expected enabled with ops {name}, got {state} / {ops:?}"));
    }
    let stat = |name: &str| sched.object().global_as::<u64>(name).map_err(e);
    let before = (stat("enqueued")?, stat("dispatched")?);
    let took = common::real_guest::workloads(300)?;
    let after = (stat("enqueued")?, stat("dispatched")?);
    println!(
        "workloads done in {:.2?}: enqueued {} -> {}, dispatched {} -> {}",
        took, before.0, after.0, before.1, after.1
    );
    if after.0 <= before.0 || after.1 <= before.1 {
        return Err("the scheduler's counters did not grow while tasks ran".into());
    }
    let info = sched.detach().map_err(e)?;
    let state = bpfkit::sched_ext::state().map_err(e)?;
    println!("detached: {info} (kind {}), state {state}", info.kind);
    if !info.is_clean() || state != "disabled" {
        return Err(format!("expected a clean unregistration and state disabled, got {info:?} / {state}"));
    }
    Ok(())
}

/// A scheduler that inserts tasks into a dispatch queue that does not exist is aborted by the
/// kernel; the exit info carries the kernel's reason and the scheduler is gone, without hanging.
fn sched_ext_abort() -> Result<(), String> {
    let e = |e: bpfkit::Error| e.to_string();
    let sched = bpfkit::sched_ext::Scheduler::attach(scx_fifo(0xbad0_0000)?).map_err(e)?;
    let info =
        sched.wait(std::time::Duration::from_secs(10)).map_err(e)?.ok_or("the kernel did not abort the scheduler")?;
    println!("aborted: {info} (kind {})", info.kind);
    if info.is_clean() || !(info.msg.contains("bad00000") || info.reason.contains("error")) {
        return Err(format!("expected an error exit naming the bad queue, got {info:?}"));
    }
    drop(sched);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while bpfkit::sched_ext::state().map_err(e)? != "disabled" {
        if std::time::Instant::now() > deadline {
            return Err("sched_ext still not disabled 5 s after the abort".into());
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Ok(())
}

/// The `scx_run` example as a user runs it: each scheduler for 2 s with its stats printed every
/// second and a clean exit (status 0); `--bad-dsq` aborted by the kernel, reported, status 1,
/// without hanging; SIGINT ends a long run early with a clean unregistration.
fn sched_ext_example() -> Result<(), String> {
    let run = |args: &[&str]| -> Result<(std::process::ExitStatus, String), String> {
        let out = std::process::Command::new(GUEST_SCX_RUN)
            .args(args)
            .env("SCX_OBJECT_DIR", "/test/bpf")
            .output()
            .map_err(|e| format!("{GUEST_SCX_RUN}: {e}"))?;
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        println!("$ scx_run {}\n{}", args.join(" "), text.trim_end());
        Ok((out.status, text))
    };
    for which in ["fifo", "vtime"] {
        let (status, text) = run(&[which, "2"])?;
        if !status.success() || !text.contains("  2s  enqueued") || !text.contains("unregistered from user space") {
            return Err(format!("scx_run {which} 2: {status}"));
        }
    }
    let (status, text) = run(&["fifo", "10", "--bad-dsq"])?;
    if status.code() != Some(1) || !text.contains("invalid DSQ ID") {
        return Err(format!("scx_run --bad-dsq: expected exit status 1 with the kernel's reason, got {status}"));
    }
    let child = std::process::Command::new(GUEST_SCX_RUN)
        .args(["fifo", "60"])
        .env("SCX_OBJECT_DIR", "/test/bpf")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("{GUEST_SCX_RUN}: {e}"))?;
    std::thread::sleep(std::time::Duration::from_millis(2500));
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    println!("$ scx_run fifo 60, SIGINT after 2.5 s\n{}", text.trim_end());
    if !out.status.success() || !text.contains("interrupted") || !text.contains("unregistered from user space") {
        return Err(format!("SIGINT did not end the run cleanly: {}", out.status));
    }
    let state = bpfkit::sched_ext::state().map_err(|e| e.to_string())?;
    if state != "disabled" {
        return Err(format!("sched_ext is {state} after the example ended"));
    }
    Ok(())
}

/// Fails on purpose: proves a failing guest test fails the run (opt-in, see `OPT_IN`).
fn deliberate_failure() -> Result<(), String> {
    Err("this test fails on purpose".into())
}
