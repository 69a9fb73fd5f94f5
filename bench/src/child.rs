//! Measurements in a child process: this binary re-run with a hidden subcommand (`loads`,
//! `relocate`), under callgrind for instruction counts ((h), (i)) or alone for its peak RSS.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

/// The object name libbpf derives from a path: the file name without `.bpf.o`.
pub fn object_name(object: &Path) -> &str {
    object.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".bpf.o")).unwrap_or("obj")
}

/// In the child: prints the process's peak resident set (`peak <VmHWM>`), for
/// [`peak_rss`] to read.
pub fn print_peak_rss() {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let peak = status.lines().find_map(|l| l.strip_prefix("VmHWM:")).map(str::trim).unwrap_or("? kB");
    println!("peak {peak}");
}

/// Peak RSS in KiB of this binary run with `args` (not under valgrind).
pub fn peak_rss<S: AsRef<OsStr>>(args: &[S]) -> Result<u64, String> {
    peak_rss_of(&std::env::current_exe().map_err(|e| e.to_string())?, args)
}

/// Peak RSS in KiB of `program` run with `args` (it prints `peak <VmHWM>`).
pub fn peak_rss_of<S: AsRef<OsStr>>(me: &Path, args: &[S]) -> Result<u64, String> {
    let report = Report::of(me, args)?;
    report.kib("peak ").ok_or_else(|| report.missing(args))
}

/// Peak RSS and the file-backed share of what stays resident at exit (binary and libraries),
/// in KiB, of `program` run with `args` (a (j) child: it prints `peak <VmHWM>` and
/// `now anon <RssAnon> file <RssFile>`). Code pages stay mapped once touched, so the peak less
/// the file share is what the process's data (heap, stack) peaked at, near enough.
pub fn peak_and_file_rss_of<S: AsRef<OsStr>>(me: &Path, args: &[S]) -> Result<(u64, u64), String> {
    let report = Report::of(me, args)?;
    let file = report.stdout.lines().find_map(|l| kib(l.strip_prefix("now anon ")?.split_once(" file ")?.1));
    report.kib("peak ").zip(file).ok_or_else(|| report.missing(args))
}

/// What a measuring child printed.
struct Report {
    stdout: String,
    stderr: String,
}

impl Report {
    fn of<S: AsRef<OsStr>>(me: &Path, args: &[S]) -> Result<Report, String> {
        let out = Command::new(me).args(args).output().map_err(|e| format!("{}: {e}", me.display()))?;
        Ok(Report {
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// The KiB on the line starting with `prefix`.
    fn kib(&self, prefix: &str) -> Option<u64> {
        self.stdout.lines().find_map(|l| kib(l.strip_prefix(prefix)?))
    }

    fn missing<S: AsRef<OsStr>>(&self, args: &[S]) -> String {
        format!("{}: no peak RSS reported ({})", describe(args), self.stderr)
    }
}

/// `<n> kB` as a number.
fn kib(v: &str) -> Option<u64> {
    v.trim().trim_end_matches(" kB").trim().parse().ok()
}

/// User-space instructions of this binary run with `args` under callgrind, and what it printed.
pub fn instructions<S: AsRef<OsStr>>(args: &[S]) -> Result<(u64, String), String> {
    instructions_of(&std::env::current_exe().map_err(|e| e.to_string())?, args)
}

/// User-space instructions of `me` run with `args` under callgrind, and what it printed.
pub fn instructions_of<S: AsRef<OsStr>>(me: &Path, args: &[S]) -> Result<(u64, String), String> {
    let out = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(me)
        .args(args)
        .output()
        .map_err(|e| format!("valgrind: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("{} under callgrind failed:\n{stderr}", describe(args)));
    }
    let n = stderr
        .lines()
        .find_map(|l| l.split("Collected :").nth(1))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| format!("no instruction count in callgrind's output:\n{stderr}"))?;
    Ok((n, String::from_utf8_lossy(&out.stdout).into_owned()))
}

/// `args` joined, for error messages.
fn describe<S: AsRef<OsStr>>(args: &[S]) -> String {
    args.iter().map(|a| a.as_ref().to_string_lossy()).collect::<Vec<_>>().join(" ")
}
