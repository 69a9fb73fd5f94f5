//! The guest side of the real-object tests (see `bpfkit_testkit::real_objects`): every object
//! loaded with the guest's libbpf 1.8 (bpftool) and with bpfkit on the sid kernel, where
//! sched_ext and the modules exist.

use std::path::Path;
use std::process::Command;

use bpfkit_testkit::{real_objects, reference};

use super::conformance::{self, Row};

/// The entries directly under `/sys/fs/bpf`.
fn bpffs_entries() -> Vec<std::path::PathBuf> {
    let mut out: Vec<_> =
        std::fs::read_dir("/sys/fs/bpf").map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
    out.sort();
    out
}

/// Removes what a load pinned (directly under `/sys/fs/bpf`) since `before`.
fn remove_new_pins(before: &[std::path::PathBuf]) {
    for path in bpffs_entries() {
        if !before.contains(&path) {
            let _ = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
        }
    }
}

/// Every object of the manifest, libbpf then bpfkit, in this kernel; fails when libbpf loads
/// one bpfkit does not.
pub fn real_objects_load() -> Result<(), String> {
    let objects = real_objects::guest_objects().map_err(|e| e.to_string())?;
    let mut rows = Vec::with_capacity(objects.len());
    for (i, object) in objects.iter().enumerate() {
        let started = std::time::Instant::now();
        let before = bpffs_entries();
        let mut bpftool = Command::new(reference::GUEST_COMMAND[0]);
        bpftool.args(&reference::GUEST_COMMAND[1..]);
        let libbpf = conformance::libbpf(bpftool, &object.path, &format!("/sys/fs/bpf/real-libbpf-{i}"));
        // libbpf pins maps by name at the bpffs root: gone before bpfkit looks for them.
        remove_new_pins(&before);
        let pins = format!("/sys/fs/bpf/real-bpfkit-{i}");
        std::fs::create_dir_all(&pins).map_err(|e| format!("{pins}: {e}"))?;
        let bpfkit = conformance::bpfkit(&object.path, Path::new(&pins));
        remove_new_pins(&before);
        println!(
            "{}: libbpf {:?}, bpfkit {:?} ({:.1} s)",
            object.name,
            libbpf.loaded(),
            bpfkit.loaded(),
            started.elapsed().as_secs_f64()
        );
        rows.push(Row { name: object.name.clone(), origin: object.origin.clone(), libbpf, bpfkit });
    }
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let gaps = conformance::report(&format!("guest kernel {}", release.trim()), &rows);
    if gaps.is_empty() {
        Ok(())
    } else {
        Err(format!("libbpf loads {} object(s) bpfkit does not:\n  {}", gaps.len(), gaps.join("\n  ")))
    }
}

/// Where the guest finds the `bpfkit` command.
pub const GUEST_BPFKIT: &str = "/test/bpfkit";

/// Spins for `ms` milliseconds on two threads and sleeps 50 times 2 ms on a third: a CPU and a
/// sleep workload the scheduler must carry. Returns how long it took.
pub fn workloads(ms: u64) -> Result<std::time::Duration, String> {
    let start = std::time::Instant::now();
    let spinners: Vec<_> = (0..2)
        .map(|_| {
            std::thread::spawn(move || {
                let (mut x, t) = (0u64, std::time::Instant::now());
                while t.elapsed() < std::time::Duration::from_millis(ms) {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                }
                x
            })
        })
        .collect();
    let sleeper = std::thread::spawn(|| {
        for _ in 0..50 {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    });
    for s in spinners {
        s.join().map_err(|_| "a spinner panicked")?;
    }
    sleeper.join().map_err(|_| "the sleeper panicked")?;
    Ok(start.elapsed())
}

/// Each scx scheduler that needs no user space of its own runs with `bpfkit run`: enabled,
/// `root/ops` naming it, a CPU and a sleep workload complete, and after `--duration` a clean
/// unregistration reported with the kernel's exit information.
pub fn real_schedulers_run() -> Result<(), String> {
    let objects = real_objects::guest_objects().map_err(|e| e.to_string())?;
    let runnable: Vec<_> = objects.iter().filter(|o| o.scx.is_some_and(|s| s.runs_alone)).collect();
    if runnable.is_empty() {
        return Err("no runnable scheduler in the manifest".into());
    }
    let mut failed = Vec::new();
    for object in runnable {
        if let Err(why) = run_one(object) {
            println!("FAILED: {why}");
            failed.push(why);
        }
    }
    if failed.is_empty() { Ok(()) } else { Err(failed.join("\n  ")) }
}

/// One scheduler through `bpfkit run`, checked as [`real_schedulers_run`] says.
fn run_one(object: &real_objects::RealObject) -> Result<(), String> {
    let name = object.scx.map_or("", |s| s.name);
    let cpus = bpfkit::sys::possible_cpus().map_err(|e| e.to_string())?.to_string();
    let globals = object.scx.map_or(&[][..], |s| s.run_globals);
    let child = Command::new(GUEST_BPFKIT)
        .args(["run", "--duration", "6", "--interval", "2"])
        .args(globals.iter().flat_map(|g| ["--global".to_owned(), g.replace("{cpus}", &cpus)]))
        .args(object.scx.map_or(&[][..], |s| s.run_syscalls).iter().flat_map(|c| ["--syscall", c]))
        .arg(&object.path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("{GUEST_BPFKIT}: {e}"))?;
    // Loading takes a while under emulation: wait for the kernel to enable it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut seen = None;
    while std::time::Instant::now() < deadline {
        let state = bpfkit::sched_ext::state().map_err(|e| e.to_string())?;
        if state == "enabled" {
            seen = Some(bpfkit::sched_ext::current_ops());
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let took = match &seen {
        Some(_) => Some(workloads(300)?),
        None => None,
    };
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    println!("$ bpfkit run {} {} ({})\n{}", globals.join(" "), object.name, object.origin, text.trim_end());
    let ops = seen.ok_or_else(|| format!("{}: sched_ext never became enabled ({})", object.name, out.status))?;
    println!("{}: enabled with root/ops {ops:?}; workloads done in {:.2?}", object.name, took.unwrap_or_default());
    if !ops.as_deref().is_some_and(|o| o.starts_with(name)) {
        return Err(format!("{}: root/ops was {ops:?}, expected {name}", object.name));
    }
    if !out.status.success() || !text.contains("EXIT: unregistered from user space") {
        return Err(format!("{}: bpfkit run ended with {} without a clean unregistration", object.name, out.status));
    }
    let state = bpfkit::sched_ext::state().map_err(|e| e.to_string())?;
    if state != "disabled" {
        return Err(format!("{}: sched_ext is {state} after bpfkit run ended", object.name));
    }
    Ok(())
}

fn find<'a>(objects: &'a [real_objects::RealObject], name: &str) -> Result<&'a real_objects::RealObject, String> {
    objects.iter().find(|o| o.name == name).ok_or_else(|| format!("{name} is not in the manifest"))
}

/// What real objects need beyond loading, each seen through the kernel: scx_p2dq's arena
/// mapped at the address its `__ulong(map_extra, ...)` names, its syscall program handing a
/// page it allocated back through its context; scx_bpfland with a callback unhooked before load
/// loading without that program and running.
pub fn real_objects_details() -> Result<(), String> {
    let e = |e: bpfkit::Error| e.to_string();
    let objects = real_objects::guest_objects().map_err(|e| e.to_string())?;

    // The arena and a syscall program's context written back.
    let p2dq = find(&objects, "scx_p2dq")?;
    let mut open = bpfkit::OpenObject::open(&p2dq.path).map_err(e)?;
    let extra = open.model().map("arena").ok_or("scx_p2dq has no arena map")?.def.map_extra;
    bpfkit::sched_ext::prepare(&mut open).map_err(e)?;
    let obj = open.load().map_err(e)?;
    let (address, len) = obj.map("arena").map_err(e)?.arena_region().ok_or("the arena is not mapped")?;
    println!("scx_p2dq: arena mapped at {address:#x} ({len} bytes), map_extra {extra:#x}");
    if address != extra || extra == 0 {
        return Err(format!("the arena is at {address:#x}, its definition names {extra:#x}"));
    }
    // struct scx_userspace_arena_alloc_pages_args { u32 sz; void __arena *ret; }
    let mut ctx = [0u8; 16];
    ctx[..4].copy_from_slice(&5000u32.to_ne_bytes());
    let run = obj
        .program("scx_userspace_arena_alloc_pages")
        .map_err(e)?
        .test_run(&mut bpfkit::TestRun { ctx_in: &mut ctx, ..Default::default() })
        .map_err(e)?;
    let size = u32::from_ne_bytes(ctx[..4].try_into().map_err(|_| "ctx")?);
    let page = u64::from_ne_bytes(ctx[8..].try_into().map_err(|_| "ctx")?);
    println!("scx_userspace_arena_alloc_pages(5000): returned {}, sz now {size}, ret {page:#x}", run.retval);
    let page_size = bpfkit::sys::page_size() as u32;
    if run.retval != 0 || size != 5000u32.div_ceil(page_size) * page_size {
        return Err(format!("the program's results did not come back through its context: sz {size}"));
    }
    if page < address || page >= address + len as u64 {
        return Err(format!("the page it allocated, {page:#x}, is not inside the arena"));
    }
    drop(obj);

    // A callback unhooked before load: its program is not loaded, the scheduler still runs.
    let bpfland = find(&objects, "scx_bpfland")?;
    let mut open = bpfkit::OpenObject::open(&bpfland.path).map_err(e)?;
    open.set_global("numa_enabled", &[0]).map_err(e)?;
    let prepared = bpfkit::sched_ext::prepare(&mut open).map_err(e)?;
    open.set_struct_ops_program(&prepared.ops_map, "runnable", None).map_err(e)?;
    let obj = open.load().map_err(e)?;
    if obj.program("bpfland_runnable").is_ok() {
        return Err("bpfland_runnable was loaded although no member points at it".into());
    }
    let sched = bpfkit::sched_ext::Scheduler::attach(obj).map_err(e)?;
    let ops = bpfkit::sched_ext::current_ops();
    let took = workloads(200)?;
    let info = sched.detach().map_err(e)?;
    println!("scx_bpfland without ops.runnable: root/ops {ops:?}, workloads {took:.2?}, {info}");
    if ops.as_deref() != Some("bpfland") || !info.is_clean() {
        return Err(format!("expected bpfland running and a clean exit, got {ops:?} / {info}"));
    }
    Ok(())
}
