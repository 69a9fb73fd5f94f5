//! What the (j) children (`bench-load-bpfkit`, `bench-load-libbpf`) share: their command line
//! (`open|load OBJECT ROUNDS PIN_ROOT`) and their report (`peak <VmHWM>`, then the anonymous and
//! file-backed shares of what stays resident), around the one loader each links.

use std::path::Path;
use std::process::ExitCode;

/// Runs the child called `me` with this process's arguments: `setup` turns the object's name
/// and the pin root into what `round` needs (before the rounds, so that it is not counted as a
/// round's work), then each round opens (and when told to, loads) and closes the object's bytes.
pub fn main<S>(
    me: &str,
    setup: impl FnOnce(&str, &str) -> Result<S, String>,
    mut round: impl FnMut(&S, bool, &[u8]) -> Result<(), String>,
) -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [mode, object, rounds, pin_root] = &args[..] else {
        eprintln!("usage: {me} open|load OBJECT ROUNDS PIN_ROOT");
        return ExitCode::FAILURE;
    };
    let result = (|| -> Result<(), String> {
        let rounds: usize = rounds.parse().map_err(|_| "ROUNDS must be a number".to_string())?;
        let bytes = std::fs::read(object).map_err(|e| format!("{object}: {e}"))?;
        let name = Path::new(object)
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".bpf.o"))
            .unwrap_or("obj");
        let state = setup(name, pin_root)?;
        for _ in 0..rounds {
            round(&state, mode == "load", &bytes)?;
        }
        Ok(())
    })();
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| status.lines().find_map(|l| l.strip_prefix(name)).map(str::trim).unwrap_or("? kB");
    println!("peak {}", field("VmHWM:"));
    println!("now anon {} file {}", field("RssAnon:"), field("RssFile:"));
    if std::env::var_os("BPFKIT_BENCH_SMAPS").is_some() {
        print_resident_mappings();
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{me}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// With `BPFKIT_BENCH_SMAPS` set: each mapping's resident KiB (`/proc/self/smaps`), to see
/// which binary, library or heap a peak comes from.
fn print_resident_mappings() {
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap_or_default();
    let pagemap = std::fs::File::open("/proc/self/pagemap").ok();
    let mut name = String::new();
    let mut range = (0u64, 0u64);
    for line in smaps.lines() {
        if let Some(rss) = line.strip_prefix("Rss:") {
            println!("  {:>8} {name}", rss.trim());
            // For executable file mappings, which of their pages are mapped: '#' per 16 KiB.
            if let (Some(pagemap), true) = (&pagemap, name.contains("r-xp") && name.contains('/')) {
                println!("           {}", present_pages(pagemap, range));
            }
        } else if let Some(first) = line.split_whitespace().next().filter(|f| f.contains('-')) {
            name = line.split_whitespace().skip(1).collect::<Vec<_>>().join(" ");
            let mut ends = first.split('-').map(|a| u64::from_str_radix(a, 16).unwrap_or(0));
            range = (ends.next().unwrap_or(0), ends.next().unwrap_or(0));
        }
    }
}

/// One character per 16 KiB of `range`: '#' when all four pages are mapped, '+' for some,
/// '.' for none (bit 63 of each page's `/proc/self/pagemap` entry).
fn present_pages(pagemap: &std::fs::File, (start, end): (u64, u64)) -> String {
    use std::os::unix::fs::FileExt;
    let pages = ((end - start) / 4096) as usize;
    let mut entries = vec![0u8; pages * 8];
    if pagemap.read_exact_at(&mut entries, start / 4096 * 8).is_err() {
        return "(pagemap unreadable)".into();
    }
    let present: Vec<bool> = entries.chunks_exact(8).map(|e| e[7] & 0x80 != 0).collect();
    present
        .chunks(4)
        .map(|c| match c.iter().filter(|&&p| p).count() {
            0 => '.',
            n if n == c.len() => '#',
            _ => '+',
        })
        .collect()
}
