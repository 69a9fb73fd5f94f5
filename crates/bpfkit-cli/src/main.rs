//! `bpfkit`: inspect kernel BTF, see what the running kernel offers, load BPF objects.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

mod btf;
mod demo;
mod error;
mod kernel;
mod load;
mod run;
mod sched;
mod struct_ops;
mod style;
mod values;

use error::CliError;

/// bpfkit: a pure-Rust eBPF toolkit.
#[derive(Parser)]
#[command(name = "bpfkit", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Inspect BTF: the running kernel's, a module's, or a file's.
    #[command(subcommand)]
    Btf(BtfCommand),
    /// What the running kernel offers: vmlinux and module BTF, kfuncs with prototypes,
    /// struct_ops types.
    Kernel(KernelArgs),
    /// Load every program and create every map of each object, without attaching (like
    /// `bpftool prog loadall`); says per program whether the kernel accepted it.
    Load(LoadArgs),
    /// Open, load and attach an object (programs by their sections, struct_ops maps), print its
    /// globals and small maps as it runs, detach on Ctrl-C.
    Run(RunArgs),
    /// Register, list and unregister struct_ops maps that outlive the command (like
    /// `bpftool struct_ops`).
    #[command(subcommand)]
    StructOps(StructOpsCommand),
    /// Show bpfkit on this kernel: its BTF, then a BPF TCP congestion control carrying a
    /// loopback transfer.
    Demo,
}

#[derive(Args)]
struct RunArgs {
    /// The BPF object file.
    object: PathBuf,
    /// Set a global before load: an integer (decimal, 0x hex, true/false) for 1/2/4/8-byte
    /// globals, a string for char arrays. Repeatable.
    #[arg(long = "global", value_name = "NAME=VALUE")]
    globals: Vec<String>,
    /// Load and attach only this program (repeatable; default: all).
    #[arg(long = "program", value_name = "NAME")]
    programs: Vec<String>,
    /// Seconds between two printouts of the globals and maps.
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0)]
    interval: f64,
    /// Stop after this many seconds instead of at Ctrl-C.
    #[arg(long, value_name = "SECONDS")]
    duration: Option<f64>,
    /// Run syscall program NAME once after load, before anything is attached, with the
    /// context bytes given in hex (as they lie in memory), as a scheduler's user space does to
    /// set it up; a non-zero return fails the command. Repeatable, in order.
    #[arg(long = "syscall", value_name = "NAME[:HEX]")]
    syscalls: Vec<String>,
}

#[derive(Subcommand)]
enum StructOpsCommand {
    /// Load OBJECT and register its struct_ops maps so that they stay registered after the
    /// command exits (.struct_ops.link maps need --pin).
    Register {
        /// The BPF object file.
        object: PathBuf,
        /// bpffs directory to pin the links of .struct_ops.link maps in (one per map).
        #[arg(long, value_name = "DIR")]
        pin: Option<PathBuf>,
    },
    /// List the kernel's struct_ops maps: id, name, ops type, how and whether registered.
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Unregister a struct_ops map, by name or kernel map id (detaching its link if it has one).
    Unregister {
        /// The map's name or id.
        map: String,
    },
}

#[derive(Args)]
struct KernelArgs {
    /// Show only modules, kfuncs and struct_ops types whose name contains this.
    #[arg(long, value_name = "TEXT")]
    filter: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct LoadArgs {
    /// BPF object files.
    #[arg(required = true)]
    objects: Vec<PathBuf>,
    /// Pin the loaded programs under this bpffs directory (one subdirectory per object when
    /// there are several), so they stay loaded after the command exits.
    #[arg(long, value_name = "DIR")]
    pin: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum BtfCommand {
    /// Summarise a BTF blob: counts by kind, strings, split or base, sorted or not.
    Inspect(Source),
    /// Print types one per line, members indented (like `bpftool btf dump ... format raw`).
    Dump(DumpArgs),
    /// Relocate a module's BTF from its distilled base (.BTF.base) onto a vmlinux, as the
    /// kernel does at module load; writes what /sys/kernel/btf/MODULE would show.
    Relocate(RelocateArgs),
    /// Distill a module's split BTF: a small base of the named types it uses plus the split BTF
    /// on it, so the module's BTF can be relocated onto other kernels.
    Distill(DistillArgs),
}

#[derive(Args)]
struct RelocateArgs {
    /// A module file (.ko, .ko.xz, .ko.zst, .ko.gz) or any ELF file with .BTF and .BTF.base
    /// (what `bpfkit btf distill` writes).
    module: PathBuf,
    /// The vmlinux BTF to relocate onto (raw or ELF); default: the running kernel's.
    #[arg(long, value_name = "PATH")]
    base: Option<PathBuf>,
    /// Write the relocated split BTF (raw) here.
    #[arg(short, long, value_name = "OUT")]
    output: Option<PathBuf>,
    /// List each distilled type and the base type it was mapped to.
    #[arg(long)]
    map: bool,
}

#[derive(Args)]
struct DistillArgs {
    #[command(flatten)]
    source: Source,
    /// Where to write an ELF file holding .BTF (the new split BTF) and .BTF.base (the distilled
    /// base); with --raw, OUT gets the split BTF and OUT.base the distilled base, as raw BTF.
    #[arg(short, long, value_name = "OUT")]
    output: PathBuf,
    /// Write raw BTF blobs instead of an ELF file.
    #[arg(long)]
    raw: bool,
}

/// Where the BTF comes from.
#[derive(Args)]
pub struct Source {
    /// Raw BTF or an ELF file with a .BTF section; default: /sys/kernel/btf/vmlinux. A module
    /// under /sys/kernel/btf/ gets vmlinux as its base automatically.
    pub path: Option<PathBuf>,
    /// Base BTF to parse PATH as split BTF on (raw or ELF). A module with a distilled base
    /// (.BTF.base) is relocated onto it (default: the running vmlinux, whatever release the
    /// module was built for).
    #[arg(long, value_name = "PATH")]
    pub base: Option<PathBuf>,
    /// For a module with a distilled base: show it on that base, not relocated.
    #[arg(long, conflicts_with = "base")]
    pub on_distilled_base: bool,
}

#[derive(Args)]
struct DumpArgs {
    #[command(flatten)]
    source: Source,
    /// Print only the type with this id (may be a base type for split BTF).
    #[arg(long, value_name = "N", conflicts_with = "name")]
    id: Option<u32>,
    /// Print only the types with this name (base types included for split BTF).
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// Print a JSON array of objects instead of text (the same as --format json).
    #[arg(long, conflicts_with = "format")]
    json: bool,
    /// Output format: `raw` (one type per line, like bpftool's raw format), `json`, or `c`: a
    /// C header of every type (vmlinux.h; for a module, vmlinux's types and the module's).
    #[arg(long, value_enum, default_value_t = DumpFormat::Raw)]
    format: DumpFormat,
    /// Dump this loaded module's BTF (/sys/kernel/btf/NAME, on vmlinux) instead of PATH.
    #[arg(long, value_name = "NAME", conflicts_with = "path")]
    module: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum DumpFormat {
    Raw,
    Json,
    C,
}

fn run(cli: Cli) -> Result<(), CliError> {
    let mut out = io::BufWriter::with_capacity(1 << 16, io::stdout().lock());
    match cli.command {
        Command::Kernel(args) => kernel::print(args.filter.as_deref(), args.json, &mut out)?,
        Command::Load(args) => {
            let several = args.objects.len() > 1;
            let mut outcomes = Vec::new();
            for object in &args.objects {
                let pin = match &args.pin {
                    Some(root) => Some(load::pin_dir(root, object, several)?),
                    None => None,
                };
                outcomes.extend(load::load(object, pin.as_deref()).map_err(|e| CliError::Object(object.clone(), e))?);
            }
            let all = load::print(&outcomes, args.json, &mut out)?;
            out.flush()?;
            if !all {
                return Err(CliError::NotAllLoaded(
                    outcomes.iter().filter(|o| matches!(o.status, load::Status::Rejected(_))).count(),
                ));
            }
        }
        Command::Run(args) => {
            let seconds = |what: &str, v: f64| {
                std::time::Duration::try_from_secs_f64(v)
                    .ok()
                    .filter(|d| !d.is_zero())
                    .ok_or_else(|| CliError::Usage(format!("--{what} {v}: expected a positive number of seconds")))
            };
            let options = run::RunOptions {
                object: &args.object,
                globals: &args.globals,
                programs: &args.programs,
                syscalls: &args.syscalls,
                interval: seconds("interval", args.interval)?,
                duration: args.duration.map(|d| seconds("duration", d)).transpose()?,
            };
            run::run(&options, &mut out)?;
        }
        Command::StructOps(StructOpsCommand::Register { object, pin }) => {
            struct_ops::register(&object, pin.as_deref(), &mut out)?
        }
        Command::StructOps(StructOpsCommand::List { json }) => struct_ops::list(json, &mut out)?,
        Command::StructOps(StructOpsCommand::Unregister { map }) => struct_ops::unregister(&map, &mut out)?,
        Command::Demo => demo::run(&mut out)?,
        Command::Btf(BtfCommand::Inspect(source)) => {
            let loaded = btf::source::load(&source)?;
            btf::inspect::print(&loaded, &mut out)?;
        }
        Command::Btf(BtfCommand::Relocate(args)) => {
            btf::relocate::run(&args.module, args.base.as_deref(), args.output.as_deref(), args.map, &mut out)?
        }
        Command::Btf(BtfCommand::Distill(args)) => btf::distill::run(&args.source, &args.output, args.raw, &mut out)?,
        Command::Btf(BtfCommand::Dump(mut args)) => {
            if let Some(module) = &args.module {
                args.source.path = Some(std::path::Path::new(btf::source::SYSFS_BTF).join(module));
            }
            let loaded = btf::source::load(&args.source)?;
            if args.format == DumpFormat::C {
                if args.id.is_some() || args.name.is_some() {
                    return Err(CliError::Usage(
                        "--format c prints every type; --id and --name select raw or JSON output".into(),
                    ));
                }
                bpfkit_btf::c_header::write_c_header(&loaded.btf, &Default::default(), &mut out)?;
                out.flush()?;
                return Ok(());
            }
            let selection = btf::dump::Selection::new(&loaded.btf, args.id, args.name.as_deref())?;
            let json = args.json || args.format == DumpFormat::Json;
            let format = if json { btf::dump::Format::Json } else { btf::dump::Format::Text };
            btf::dump::print(&loaded.btf, &selection, format, &mut out)?;
        }
    }
    out.flush()?;
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`bpfkit btf dump | head`) is a normal way to stop reading.
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            // Not `eprintln!`: it panics when stderr is gone, and there is nowhere left to report.
            let _ = writeln!(io::stderr().lock(), "bpfkit: {}", error::chain(&e));
            ExitCode::FAILURE
        }
    }
}
