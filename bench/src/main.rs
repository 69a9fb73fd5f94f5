//! Side-by-side benchmark: bpfkit-btf vs libbpf (`libbpf-sys`) vs aya-obj, in one run, on the
//! same raw BTF bytes in memory (the `.BTF` sections are extracted up front; I/O is not timed).
//!
//! ```text
//! cargo run --release -p bpfkit-bench [-- --quick] [--corpus DIR]
//! ```
//!
//! (a) parse + validate vmlinux, (b) parse + 10 struct lookups by name, (c) parse every module
//! of the Debian sid corpus as split BTF on its vmlinux, (d) peak memory of (a), one child
//! process per parser, (f) open the project's BPF objects (bpfkit-obj vs libbpf), (g) open + load
//! them into the kernel (bpfkit vs libbpf: user and system CPU per load, root only), (h) the user-space
//! instructions of a load (callgrind), (i) CO-RE relocation alone (bpfkit-obj vs aya-obj), (j)
//! one open + load + close of each real object (scx schedulers, Debian packages; callgrind and
//! peak RSS). Inputs:
//! the running kernel's `/sys/kernel/btf/vmlinux` and the corpus of
//! `scripts/fetch-btf-corpus.sh` (`--corpus`, else `$BPFKIT_CORPUS`, else
//! `${BPFKIT_CACHE:-$HOME/.cache/bpfkit}/corpus`); missing parts are skipped with the reason.
//! The parsers' answers are cross-checked: the benchmark fails if they disagree.

#![deny(unsafe_code)]
#![warn(clippy::undocumented_unsafe_blocks)]

mod child;
mod corpus;
mod instructions;
#[allow(unsafe_code)] // The FFI to libbpf: the only unsafe code of the benchmark.
mod libbpf;
mod load;
mod memory;
#[allow(unsafe_code)] // getrusage and geteuid.
mod os;
mod real;
mod relocation;
mod suite;
mod table;
mod timing;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use suite::Vmlinux;
use timing::Plan;

const HOST_BTF: &str = "/sys/kernel/btf/vmlinux";
const USAGE: &str = "usage: bpfkit-bench [--quick] [--corpus DIR] | bpfkit-bench real [NAME...]\n\
    \x20 --quick        few iterations (CI smoke run, ~10 s)\n\
    \x20 real NAME...   only (j), on the real objects whose names contain one of the NAMEs (all without)\n\
    \x20 --corpus DIR   corpus root (default: $BPFKIT_CORPUS, else ${BPFKIT_CACHE:-$HOME/.cache/bpfkit}/corpus)";

struct Options {
    quick: bool,
    corpus: Option<PathBuf>,
}

fn parse_args(args: &[OsString]) -> Result<Options, String> {
    let mut options = Options { quick: false, corpus: None };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("--quick") => options.quick = true,
            Some("--corpus") => {
                options.corpus = Some(PathBuf::from(args.next().ok_or("--corpus needs a directory")?));
            }
            Some("-h" | "--help") => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            _ => return Err(format!("unknown argument {}\n{USAGE}", arg.to_string_lossy())),
        }
    }
    Ok(options)
}

/// `model name` of the first CPU and the number of CPUs.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name")?.split_once(':').map(|(_, m)| m.trim().to_string()))
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{model}, {cpus} CPUs")
}

/// The running kernel's release (`uname -r`).
fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map_or_else(|_| "unknown".to_string(), |r| r.trim().to_string())
}

/// The project's compiled BPF fixtures (`bpf/*.bpf.o` of this checkout), by object name.
fn bpf_fixtures() -> Result<Vec<(String, Vec<u8>)>, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bpf");
    let Ok(entries) = std::fs::read_dir(&dir) else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        let Some(stem) = path.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".bpf.o")) else {
            continue;
        };
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        out.push((stem.to_owned(), bytes));
    }
    out.sort();
    Ok(out)
}

/// (j), on the real-object corpus (built or fetched on first use; quick: two objects).
fn real_objects(quick: bool, pin_root: &Path) -> Result<(), String> {
    let names: &[&str] = if quick { &["scx_lavd", "libbpf-tools/opensnoop"] } else { &[] };
    real_objects_named(names, pin_root)
}

/// (j) on the real objects whose names contain one of `names` (all of them when empty).
fn real_objects_named(names: &[&str], pin_root: &Path) -> Result<(), String> {
    let objects = bpfkit_testkit::kernel::SidKernel::fetch()
        .and_then(|k| bpfkit_testkit::chroot::SidRoot::ensure(k.version()))
        .and_then(|root| bpfkit_testkit::real_objects::all(&root));
    match objects {
        Ok(all) => {
            let chosen: Vec<_> =
                all.into_iter().filter(|o| names.is_empty() || names.iter().any(|n| o.name.contains(n))).collect();
            real::build_children()?;
            real::table(&chosen, pin_root)?.print();
        }
        Err(why) => println!("skipping (j): the real objects are not available: {why}\n"),
    }
    Ok(())
}

fn run(options: Options) -> Result<(), String> {
    let started = Instant::now();
    let (vmlinux_plan, modules_plan) = if options.quick {
        (Plan { warmup: 1, iters: 3 }, Plan { warmup: 1, iters: 1 })
    } else {
        (Plan { warmup: 3, iters: 100 }, Plan { warmup: 1, iters: 15 })
    };
    let release = kernel_release();
    let root = corpus::root(options.corpus);
    println!("bpfkit-bench: bpfkit-btf vs libbpf vs aya-obj on the same BTF bytes in memory (I/O not timed)");
    println!("machine:  {}, kernel {release}", machine());
    println!(
        "versions: bpfkit-btf {}, libbpf-sys {} (libbpf {}), aya-obj {}",
        env!("CARGO_PKG_VERSION"),
        env!("BENCH_LIBBPF_SYS_VERSION"),
        libbpf::version(),
        env!("BENCH_AYA_OBJ_VERSION")
    );
    println!(
        "mode:     {}: (a)/(b) {} warm-up + {} timed runs per cell, (c) {} + {}",
        if options.quick { "quick" } else { "full" },
        vmlinux_plan.warmup,
        vmlinux_plan.iters,
        modules_plan.warmup,
        modules_plan.iters
    );
    println!("corpus:   {}", root.display());

    // Inputs, loaded and cross-checked before anything is timed.
    let mut inputs: Vec<Vmlinux> = Vec::new();
    let mut sid: Option<(usize, PathBuf)> = None;
    if Path::new(HOST_BTF).exists() {
        inputs.push(Vmlinux::check(corpus::load(Path::new(HOST_BTF), format!("host {release}"))?)?);
    } else {
        println!("skipping host vmlinux: {HOST_BTF} does not exist (kernel without CONFIG_DEBUG_INFO_BTF?)");
    }
    for name in ["6.1", "6.12", "sid"] {
        match corpus::kernel(&root, name) {
            Ok((version, dir)) => {
                let label = if name == "sid" { format!("sid {version}") } else { version };
                inputs.push(Vmlinux::check(corpus::load(&dir.join("vmlinux"), label)?)?);
                if name == "sid" {
                    sid = Some((inputs.len() - 1, dir));
                }
            }
            Err(why) => println!("skipping corpus kernel {name}: {why}"),
        }
    }
    if inputs.is_empty() {
        return Err("no input: neither the host's BTF nor a corpus kernel is available".into());
    }
    println!();

    suite::parse(&inputs, vmlinux_plan)?.print();
    suite::lookups(&inputs, vmlinux_plan)?.print();
    suite::index_cost(&inputs, vmlinux_plan)?.print();

    match &sid {
        Some((index, dir)) => {
            let paths = corpus::modules(&dir.join("modules"))?;
            if paths.is_empty() {
                println!("skipping (c): no .ko files under {}\n", dir.join("modules").display());
            } else {
                let loading = Instant::now();
                let modules =
                    paths.iter().map(|p| corpus::load(p, p.display().to_string())).collect::<Result<Vec<_>, _>>()?;
                println!(
                    "(c) loaded the .BTF of {} modules in {:.1} s (not timed)",
                    modules.len(),
                    loading.elapsed().as_secs_f64()
                );
                suite::modules(&inputs[*index], &modules, modules_plan)?.print();
            }
        }
        None => println!("skipping (c): the sid corpus kernel is not available (see above)\n"),
    }

    let memory_inputs: Vec<_> = inputs
        .iter()
        .enumerate()
        .filter(|(i, v)| v.blob.path == Path::new(HOST_BTF) || sid.as_ref().is_some_and(|(s, _)| s == i))
        .map(|(_, v)| &v.blob)
        .collect();
    if memory_inputs.is_empty() {
        println!("skipping (d): needs the host's BTF or the sid corpus kernel\n");
    } else {
        let modules = sid.as_ref().map(|(index, dir)| (inputs[*index].blob.label.as_str(), dir.as_path()));
        memory::table(&memory_inputs, if options.quick { None } else { modules })?.print();
    }

    let fixtures = bpf_fixtures()?;
    if fixtures.is_empty() {
        println!("skipping (f): no bpf/*.bpf.o found\n");
    } else {
        let plan = if options.quick { Plan { warmup: 2, iters: 20 } } else { Plan { warmup: 20, iters: 1000 } };
        suite::objects(&fixtures, plan)?.print();

        if std::fs::metadata("/sys/kernel/btf/vmlinux").is_ok() && os::is_root() {
            let budget = std::time::Duration::from_millis(if options.quick { 100 } else { 1500 });
            load::table(&fixtures, budget)?.print();
            if instructions::available() {
                let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bpf");
                let names: &[&str] = if options.quick { &["minimal", "iter"] } else { &load::OBJECTS };
                let objects: Vec<_> = names.iter().map(|n| (n.to_string(), dir.join(format!("{n}.bpf.o")))).collect();
                let pins = load::PinRoot::mount()?;
                instructions::table(&objects, if options.quick { 2 } else { 5 }, pins.path())?.print();
                let core = dir.join("core.bpf.o");
                let targets: Vec<(String, &Path)> = inputs
                    .iter()
                    .filter(|v| !options.quick || v.blob.path == Path::new(HOST_BTF))
                    .map(|v| (v.blob.label.clone(), v.blob.path.as_path()))
                    .collect();
                relocation::table(&core, &targets, if options.quick { 1 } else { 3 })?.print();
                real_objects(options.quick, pins.path())?;
            } else {
                println!("skipping (h): valgrind is not installed\n");
            }
        } else {
            println!("skipping (g): loading objects needs root and a kernel with BTF\n");
        }
    }

    println!("total wall time {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let result = match args.first().and_then(|a| a.to_str()) {
        // Hidden: the child process of measurement (h), run under callgrind.
        Some("loads") => match &args[1..] {
            [loader, object, rounds, pin_root] => {
                rounds.to_string_lossy().parse().map_err(|_| "rounds must be a number".to_string()).and_then(|n| {
                    instructions::child(&loader.to_string_lossy(), Path::new(object), n, Path::new(pin_root))
                })
            }
            _ => Err("usage: bpfkit-bench loads <loader> <object> <rounds> <pin root>".to_string()),
        },
        // Hidden: the child process of measurement (i), run under callgrind.
        Some("relocate") => match &args[1..] {
            [loader, object, btf, rounds] => rounds
                .to_string_lossy()
                .parse()
                .map_err(|_| "rounds must be a number".to_string())
                .and_then(|n| relocation::child(&loader.to_string_lossy(), Path::new(object), Path::new(btf), n)),
            _ => Err("usage: bpfkit-bench relocate <loader> <object> <btf> <rounds>".to_string()),
        },
        // Hidden: the child process of measurement (d).
        Some("mem") => match &args[1..] {
            [parser, path] => memory::child(&parser.to_string_lossy(), Path::new(path)),
            _ => Err("usage: bpfkit-bench mem <parser> <file>".to_string()),
        },
        Some("real") => {
            let names: Vec<String> = args[1..].iter().map(|a| a.to_string_lossy().into_owned()).collect();
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            load::PinRoot::mount().and_then(|pins| real_objects_named(&names, pins.path()))
        }
        _ => parse_args(&args).and_then(run),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bpfkit-bench: error: {e}");
            ExitCode::FAILURE
        }
    }
}
