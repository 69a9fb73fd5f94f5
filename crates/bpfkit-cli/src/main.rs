//! `bpfkit`: inspect kernel BTF (later: generate headers, load and run BPF objects).

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

mod btf;

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
}

#[derive(Subcommand)]
enum BtfCommand {
    /// Summarise a BTF blob: counts by kind, strings, split or base, sorted or not.
    Inspect(Source),
    /// Print types one per line, members indented (like `bpftool btf dump ... format raw`).
    Dump(DumpArgs),
}

/// Where the BTF comes from.
#[derive(Args)]
pub struct Source {
    /// Raw BTF or an ELF file with a .BTF section; default: /sys/kernel/btf/vmlinux. A module
    /// under /sys/kernel/btf/ gets vmlinux as its base automatically.
    path: Option<PathBuf>,
    /// Base BTF to parse PATH as split BTF on (raw or ELF).
    #[arg(long)]
    base: Option<PathBuf>,
}

#[derive(Args)]
struct DumpArgs {
    #[command(flatten)]
    source: Source,
    /// Print only the type with this id (may be a base type for split BTF).
    #[arg(long)]
    id: Option<u32>,
    /// Print only types with this name.
    #[arg(long)]
    name: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    let stdout = io::stdout().lock();
    let mut out = io::BufWriter::with_capacity(1 << 16, stdout);
    match cli.command {
        Command::Btf(BtfCommand::Inspect(source)) => {
            let loaded = btf::source::load(&source)?;
            btf::inspect::print(&loaded, &mut out)?;
        }
        Command::Btf(BtfCommand::Dump(args)) => {
            let loaded = btf::source::load(&args.source)?;
            let selection = btf::dump::Selection::new(&loaded.btf, args.id, args.name.as_deref())?;
            let format = if args.json { btf::dump::Format::Json } else { btf::dump::Format::Text };
            btf::dump::print(&loaded.btf, &selection, format, &mut out)?;
        }
    }
    out.flush()?;
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // A closed pipe (`bpfkit btf dump | head`) is a normal way to stop reading.
            if e.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe) {
                return ExitCode::SUCCESS;
            }
            let mut msg = format!("bpfkit: {e}");
            let mut source = e.source();
            while let Some(s) = source {
                msg.push_str(&format!(": {s}"));
                source = s.source();
            }
            eprintln!("{msg}");
            ExitCode::FAILURE
        }
    }
}
