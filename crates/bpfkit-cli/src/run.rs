//! `bpfkit run OBJECT`: open, load, attach every program that attaches by its section name and
//! register every struct_ops map, print the globals and small maps on an interval and on exit,
//! and detach on Ctrl-C (or after `--duration`).

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use bpfkit::bpfkit_obj::{MapKind, MapType};
use bpfkit::{Link, Object, OpenObject};

use crate::error::CliError;
use crate::style::Style;
use crate::values::{self, Shape};

/// What `bpfkit run` was asked to do.
pub struct RunOptions<'a> {
    pub object: &'a Path,
    /// `NAME=VALUE` settings of globals, before load.
    pub globals: &'a [String],
    /// Load only these programs (default: all).
    pub programs: &'a [String],
    /// `NAME[:HEX]`: syscall programs to run once after load, before attaching.
    pub syscalls: &'a [String],
    pub interval: Duration,
    /// Stop after this long (default: at Ctrl-C).
    pub duration: Option<Duration>,
}

/// How each global's bytes read, from its VAR in the object's BTF (by size when there is none).
pub(crate) fn global_shapes(open: &OpenObject) -> HashMap<String, Shape> {
    let model = open.model();
    model
        .globals()
        .iter()
        .map(|g| {
            let size = g.size as usize;
            let shape = model
                .btf
                .as_deref()
                .and_then(|btf| {
                    let var = btf.find_by_name_kind(&g.name, bpfkit_btf::Kind::Var)?;
                    let ty = btf.type_by_id(var).ok()?.ref_type()?;
                    Some(Shape::of_type(btf, ty, size))
                })
                .unwrap_or(Shape::of_size(size));
            (g.name.clone(), shape)
        })
        .collect()
}

/// Sets `NAME=VALUE` on the open object, as the global's type says.
fn set_global(open: &mut OpenObject, shapes: &HashMap<String, Shape>, setting: &str) -> Result<(), CliError> {
    let (name, value) =
        setting.split_once('=').ok_or_else(|| CliError::Usage(format!("--global {setting}: expected NAME=VALUE")))?;
    let shape = shapes.get(name).copied().ok_or_else(|| {
        let known: Vec<&str> = open.model().globals().iter().map(|g| g.name.as_str()).collect();
        CliError::Usage(format!("--global {name}: the object has no such global (it has: {})", known.join(", ")))
    })?;
    let bytes = values::encode(value, shape).map_err(|why| CliError::Usage(format!("--global {name}: {why}")))?;
    open.set_global(name, &bytes)?;
    Ok(())
}

/// Maps worth printing: not global data, struct_ops, events or program arrays.
fn printable(map: &bpfkit::Map) -> bool {
    let shown = [
        MapType::HASH,
        MapType::ARRAY,
        MapType::PERCPU_HASH,
        MapType::PERCPU_ARRAY,
        MapType::LRU_HASH,
        MapType::LRU_PERCPU_HASH,
    ];
    matches!(map.kind(), MapKind::Btf | MapKind::Legacy) && shown.contains(&map.map_type())
}

const MAX_ENTRIES_SHOWN: usize = 16;

/// A map value as text; per-CPU values of integer size are summed over the CPUs.
fn value_text(map: &bpfkit::Map, key: &[u8]) -> Result<Option<String>, CliError> {
    let Some(raw) = map.lookup(key)? else { return Ok(None) };
    let per_cpu = [MapType::PERCPU_HASH, MapType::PERCPU_ARRAY, MapType::LRU_PERCPU_HASH].contains(&map.map_type());
    let size = map.value_size() as usize;
    if !per_cpu {
        return Ok(Some(values::show(&raw, Shape::of_size(raw.len()))));
    }
    let stride = size.div_ceil(8) * 8;
    let slots: Vec<&[u8]> = raw.chunks_exact(stride.max(1)).map(|slot| &slot[..size.min(slot.len())]).collect();
    if matches!(size, 1 | 2 | 4 | 8) {
        let sum: u64 = slots
            .iter()
            .filter_map(|s| values::show(s, Shape::Unsigned(size)).parse::<u64>().ok())
            .fold(0, u64::wrapping_add);
        return Ok(Some(format!("{sum} (sum over {} CPUs)", slots.len())));
    }
    Ok(Some(slots.iter().map(|s| values::show(s, Shape::of_size(size))).collect::<Vec<_>>().join(" | ")))
}

/// Runs syscall program `NAME[:HEX]` once with that context (`BPF_PROG_TEST_RUN`) and prints
/// its return value and, if the program changed it, the context it handed back.
fn run_syscall(obj: &Object, call: &str, out: &mut impl Write) -> Result<(), CliError> {
    let (name, hex) = call.split_once(':').unwrap_or((call, ""));
    let usage = |why: &str| CliError::Usage(format!("--syscall {call}: {why}"));
    if hex.len() % 2 != 0 {
        return Err(usage("the context needs two hex digits per byte"));
    }
    let mut ctx = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| usage("the context is not hex")))
        .collect::<Result<Vec<u8>, CliError>>()?;
    let program = obj.program(name)?;
    let before = ctx.clone();
    let result = program.test_run(&mut bpfkit::TestRun { ctx_in: &mut ctx, ..Default::default() })?;
    let retval = result.retval as i32;
    write!(out, "  ran syscall program {name}: returned {retval}")?;
    if ctx != before {
        write!(out, ", context now {}", ctx.iter().map(|b| format!("{b:02x}")).collect::<String>())?;
    }
    writeln!(out)?;
    if retval != 0 {
        return Err(CliError::Failed(format!("syscall program {name} returned {retval}")));
    }
    Ok(())
}

/// Waits up to `wait` for Ctrl-C or SIGTERM; whether one came.
pub(crate) fn interrupted(interrupts: &bpfkit::sys::signals::Interrupts, wait: Duration) -> Result<bool, CliError> {
    let timeout = i32::try_from(wait.as_millis()).unwrap_or(i32::MAX);
    interrupts
        .wait(timeout)
        .map_err(|source| CliError::Loader(bpfkit::Error::Sys { op: "wait for signals".into(), source }))
}

/// Globals (not `.rodata`, which cannot change) and the entries of small maps.
pub(crate) fn print_state(
    obj: &Object,
    shapes: &HashMap<String, Shape>,
    elapsed: Duration,
    style: &Style,
    out: &mut impl Write,
) -> Result<(), CliError> {
    writeln!(out, "{}", style.bold(&format!("after {:.1} s:", elapsed.as_secs_f64())))?;
    for g in obj.globals() {
        if obj.is_rodata(&g.name) {
            continue;
        }
        match obj.global(&g.name) {
            Ok(bytes) => {
                let shape = shapes.get(&g.name).copied().unwrap_or(Shape::of_size(bytes.len()));
                writeln!(out, "  {} = {}", g.name, values::show(&bytes, shape))?
            }
            Err(e) => writeln!(out, "  {} = <cannot read: {e}>", g.name)?,
        }
    }
    for map in obj.maps().filter(|m| printable(m)) {
        // One more than shown, to tell that there are more (without walking a big map).
        let keys = map.first_keys(MAX_ENTRIES_SHOWN + 1)?;
        let count = if keys.len() > MAX_ENTRIES_SHOWN {
            format!("more than {MAX_ENTRIES_SHOWN}")
        } else {
            keys.len().to_string()
        };
        writeln!(out, "  map {} ({count} entries):", map.name())?;
        for key in keys.iter().take(MAX_ENTRIES_SHOWN) {
            let Some(value) = value_text(map, key)? else { continue };
            writeln!(out, "    {} = {}", values::show(key, Shape::of_size(key.len())), value)?;
        }
        if keys.len() > MAX_ENTRIES_SHOWN {
            writeln!(out, "    ...")?;
        }
    }
    Ok(())
}

/// Runs the object until Ctrl-C or the duration ends. A sched_ext scheduler (an object with a
/// `sched_ext_ops` or `sched_ext_ops_cid` struct_ops map) runs as scx's tools run it (see
/// [`crate::sched`]).
pub fn run(options: &RunOptions<'_>, out: &mut impl Write) -> Result<(), CliError> {
    let style = Style::stdout();
    // Before anything else: SIGINT and SIGTERM become readable events, so Ctrl-C detaches.
    let interrupts = bpfkit::sys::signals::Interrupts::new()
        .map_err(|source| CliError::Loader(bpfkit::Error::Sys { op: "signalfd".into(), source }))?;
    let mut open = OpenObject::open(options.object).map_err(|e| CliError::Object(options.object.to_owned(), e))?;
    let scheduler = bpfkit::sched_ext::ops_map(open.model()).is_ok();
    if scheduler {
        let prepared =
            bpfkit::sched_ext::prepare(&mut open).map_err(|e| CliError::Object(options.object.to_owned(), e))?;
        crate::sched::print_prepared(&prepared, &style, out)?;
    }
    let shapes = global_shapes(&open);
    for setting in options.globals {
        set_global(&mut open, &shapes, setting)?;
    }
    if !options.programs.is_empty() {
        let names: Vec<&str> = options.programs.iter().map(String::as_str).collect();
        open.load_only(&names)?;
    }
    let obj = open.load().map_err(|e| CliError::Object(options.object.to_owned(), e))?;
    for warning in obj.warnings() {
        writeln!(out, "{} {warning}", style.bad("warning:"))?;
    }
    // Ctrl-C while the kernel verified the programs: stop before attaching anything.
    if interrupted(&interrupts, Duration::ZERO)? {
        writeln!(out, "interrupted while loading; nothing attached")?;
        return Ok(());
    }
    for call in options.syscalls {
        run_syscall(&obj, call, out)?;
    }
    if scheduler {
        return crate::sched::run(obj, options, &shapes, &interrupts, out);
    }
    let mut links: Vec<Link> = Vec::new();
    writeln!(out, "{}", style.bold(&format!("{}: loaded", options.object.display())))?;
    for program in obj.programs() {
        if program.is_auto_attachable() {
            links.push(program.attach()?);
            writeln!(out, "  {} program {} ({})", style.good("attached"), program.name(), program.section())?;
        } else {
            let why = match program.section() {
                s if s.starts_with("struct_ops") => "runs as a member of its struct_ops map",
                s if s.starts_with("syscall") => "runs on demand (BPF_PROG_TEST_RUN)",
                _ => "needs a target (interface, cgroup, socket, iterator)",
            };
            writeln!(
                out,
                "  {} program {} ({}): {}",
                style.dim("loaded"),
                program.name(),
                program.section(),
                style.dim(why)
            )?;
        }
    }
    for map in obj.maps() {
        if let MapKind::StructOps { type_name, .. } = map.kind() {
            links.push(map.attach_struct_ops()?);
            writeln!(out, "  {} struct_ops {} ({type_name})", style.good("registered"), map.name())?;
        }
    }
    writeln!(out, "{}", style.dim("running; Ctrl-C detaches and exits"))?;
    out.flush()?;
    let start = Instant::now();
    loop {
        let left = options.duration.map(|d| d.saturating_sub(start.elapsed()));
        let wait = left.map_or(options.interval, |l| l.min(options.interval));
        if interrupted(&interrupts, wait)? || left.is_some_and(|l| l <= wait) {
            break;
        }
        print_state(&obj, &shapes, start.elapsed(), &style, out)?;
        out.flush()?;
    }
    print_state(&obj, &shapes, start.elapsed(), &style, out)?;
    let count = links.len();
    for link in links {
        link.detach()?;
    }
    writeln!(out, "{}", style.bold(&format!("detached {count} attachment(s)")))?;
    Ok(())
}
