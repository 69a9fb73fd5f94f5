//! `bpfkit run` on a sched_ext scheduler: what scx's `SCX_OPS_OPEN`, `SCX_OPS_LOAD` and
//! `SCX_OPS_ATTACH` do around a scheduler's own user space, so that any scheduler written to
//! the scx conventions runs from its object alone. The object is prepared for this kernel
//! (`bpfkit::sched_ext::prepare`: enums, `hotplug_seq`, the exit dump buffer, members the
//! kernel lacks), loaded, registered (refused while another scheduler runs), its globals printed
//! on the interval, and on Ctrl-C or the end of `--duration` unregistered; the kernel's exit
//! information is printed either way, and a scheduler the kernel aborted makes the command fail.

use std::collections::HashMap;
use std::io::Write;
use std::time::Instant;

use bpfkit::Object;
use bpfkit::sched_ext::{self, ExitInfo, Prepared, Scheduler};

use crate::error::CliError;
use crate::run::{RunOptions, interrupted, print_state};
use crate::style::Style;
use crate::values::Shape;

/// Says what preparing the scheduler changed.
pub fn print_prepared(p: &Prepared, style: &Style, out: &mut impl Write) -> Result<(), CliError> {
    writeln!(
        out,
        "{} {} ({}): {} enums from kernel BTF{}",
        style.bold("sched_ext scheduler"),
        p.ops_map,
        p.ops_type,
        p.enums,
        p.dump_len.map(|n| format!(", exit dump of {n} bytes")).unwrap_or_default()
    )?;
    if !p.cleared.is_empty() {
        writeln!(out, "  {}: {}", style.dim("cleared (this kernel lacks them)"), p.cleared.join(", "))?;
    }
    Ok(())
}

/// Registers the loaded scheduler and runs it until Ctrl-C, the duration, or its own end.
pub fn run(
    obj: Object,
    options: &RunOptions<'_>,
    shapes: &HashMap<String, Shape>,
    interrupts: &bpfkit::sys::signals::Interrupts,
    out: &mut impl Write,
) -> Result<(), CliError> {
    let style = Style::stdout();
    let sched = Scheduler::attach(obj)?;
    let state = sched_ext::state()?;
    writeln!(
        out,
        "{} {}: sched_ext {state}, root/ops {}",
        style.good("registered"),
        sched.ops_map(),
        sched_ext::current_ops().unwrap_or_else(|| "(none)".into())
    )?;
    writeln!(out, "{}", style.dim("running; Ctrl-C unregisters it and exits"))?;
    out.flush()?;
    let start = Instant::now();
    let ended = loop {
        let left = options.duration.map(|d| d.saturating_sub(start.elapsed()));
        let wait = left.map_or(options.interval, |l| l.min(options.interval));
        let stop = interrupted(interrupts, wait)? || left.is_some_and(|l| l <= wait);
        // The kernel may have ended it (an error in the scheduler, a stall, sysrq-S).
        if let Some(info) = sched.exit_info()? {
            break Some(info);
        }
        if stop {
            break None;
        }
        print_state(sched.object(), shapes, start.elapsed(), &style, out)?;
        out.flush()?;
    };
    print_state(sched.object(), shapes, start.elapsed(), &style, out)?;
    let info = match ended {
        Some(info) => {
            writeln!(out, "{}", style.bad("the scheduler ended by itself"))?;
            // Unregister what is left (links, the other programs); the kernel's info stands.
            sched.detach()?;
            info
        }
        None => sched.detach()?,
    };
    report(&info, &style, out)?;
    if info.is_clean() { Ok(()) } else { Err(CliError::Failed(format!("scheduler {info}"))) }
}

/// Prints the exit information (and the kernel's dump, when there is one).
fn report(info: &ExitInfo, style: &Style, out: &mut impl Write) -> Result<(), CliError> {
    let line = info.to_string();
    writeln!(out, "{}", if info.is_clean() { style.good(&line) } else { style.bad(&line) })?;
    if !info.dump.is_empty() {
        writeln!(out, "{}", style.dim("kernel dump:"))?;
        writeln!(out, "{}", info.dump.trim_end())?;
    }
    Ok(())
}
