//! Boots the Debian sid kernel under QEMU (TCG) with an initramfs holding busybox, a test binary
//! with its shared libraries and the kernel modules to load, streams the guest console, and turns
//! the guest's result marker into an exit code. The host's `/dev/kvm` is a nested paravirtual one
//! that cannot run this kernel, so the guest is emulated (`-accel tcg -cpu max`).

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::cache;
use crate::chroot::SidRoot;
use crate::command;
use crate::cpio::Cpio;
use crate::error::{Error, Result};
use crate::kernel::SidKernel;
use crate::kmod::ModuleTree;
use crate::testmod;

/// The environment variable the guest's `/init` sets for the test binary.
pub const IN_VM_ENV: &str = "BPFKIT_IN_VM";

/// Where the test binary lives in the guest.
const GUEST_BINARY: &str = "/test/guest";

/// A VM boot to run one test binary.
#[derive(Debug, Clone)]
pub struct Vm {
    binary: PathBuf,
    args: Vec<String>,
    modules: Vec<String>,
    testmod: bool,
    files: Vec<(String, PathBuf)>,
    timeout: Duration,
    echo: bool,
}

/// What a finished guest run reported.
#[derive(Debug)]
pub struct VmOutcome {
    /// The test binary's exit status in the guest (0 = every guest test passed).
    pub exit_code: i32,
    /// The guest console, `\r` removed.
    pub console: String,
    /// Time from starting QEMU to the marker.
    pub boot_and_run: Duration,
    /// The kernel version booted.
    pub kernel: String,
}

impl Vm {
    /// A boot that runs `binary` (a host executable; it and its `ldd` libraries are copied into
    /// the guest) with `BPFKIT_IN_VM=1`. Timeout: `$BPFKIT_VM_TIMEOUT` seconds, else 300.
    pub fn new(binary: impl Into<PathBuf>) -> Vm {
        let timeout = std::env::var("BPFKIT_VM_TIMEOUT").ok().and_then(|s| s.parse().ok()).unwrap_or(300);
        Vm {
            binary: binary.into(),
            args: Vec::new(),
            modules: Vec::new(),
            testmod: false,
            files: Vec::new(),
            timeout: Duration::from_secs(timeout),
            echo: true,
        }
    }

    /// Arguments for the binary.
    pub fn args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, args: I) -> Vm {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// A module of the kernel package to load (with its dependencies) before the binary runs.
    pub fn module(mut self, name: &str) -> Vm {
        self.modules.push(name.to_owned());
        self
    }

    /// Also build and load the project's test module (`testmod/`), after the other modules.
    pub fn testmod(mut self) -> Vm {
        self.testmod = true;
        self
    }

    /// Copies host file `src` into the guest as `guest_path` (absolute), executable.
    pub fn file(mut self, guest_path: &str, src: impl Into<PathBuf>) -> Vm {
        self.files.push((guest_path.to_owned(), src.into()));
        self
    }

    /// Copies several files, as [`Vm::file`].
    pub fn files(mut self, files: impl IntoIterator<Item = (String, PathBuf)>) -> Vm {
        self.files.extend(files);
        self
    }

    /// How long the whole boot may take.
    pub fn timeout(mut self, timeout: Duration) -> Vm {
        self.timeout = timeout;
        self
    }

    /// Whether to copy the guest console to stdout while it runs (default: yes).
    pub fn echo(mut self, echo: bool) -> Vm {
        self.echo = echo;
        self
    }

    /// Prepares everything (cached: kernel, chroot, test module), boots, and returns the guest's
    /// result. An error means no result: missing tools, a failed insmod, a timeout, a panic.
    pub fn run(&self) -> Result<VmOutcome> {
        command::need("qemu-system-x86_64", "qemu-system-x86")?;
        let kernel = SidKernel::fetch()?;
        let root = SidRoot::ensure(kernel.version())?;
        let tree = ModuleTree::scan(&kernel.modules_dir())?;
        let names: Vec<&str> = self.modules.iter().map(String::as_str).collect();
        let mut modules = tree.load_order(&names)?;
        if self.testmod {
            modules.push(testmod::build(&root, kernel.version())?);
        }

        let nonce = format!(
            "{:x}{:x}",
            std::process::id(),
            SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos())
        );
        let dir = cache::root()?.join("vm/runs").join(&nonce);
        cache::mkdirs(&dir)?;
        let initrd = dir.join("initramfs.cpio");
        let result = self.pack(&initrd, &root, &modules, &nonce).and_then(|()| self.boot(&kernel, &initrd, &nonce));
        cache::remove(&dir)?;
        result
    }

    fn pack(&self, initrd: &Path, root: &SidRoot, modules: &[PathBuf], nonce: &str) -> Result<()> {
        let mut cpio = Cpio::create(initrd)?;
        for dir in ["proc", "sys", "dev", "tmp", "run", "root", "sbin", "usr/bin", "usr/sbin"] {
            cpio.dir(dir)?;
        }
        cpio.file("bin/busybox", 0o755, &root.path().join("bin/busybox"))?;
        cpio.file(GUEST_BINARY, 0o755, &self.binary)?;
        for (name, src) in &self.files {
            cpio.file(name, 0o755, src)?;
        }
        for lib in shared_libraries(&self.binary)? {
            let name = lib.to_string_lossy().into_owned();
            cpio.file(&name, 0o755, &lib)?;
        }
        let mut insmods = String::new();
        for (i, module) in modules.iter().enumerate() {
            let file = module.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let name = format!("/modules/{i:02}-{file}");
            cpio.file(&name, 0o644, module)?;
            insmods.push_str(&format!(
                "insmod {name} || {{ echo \"BPFKIT-VM-ERROR-{nonce}: insmod {file} failed\"; poweroff -f; }}\n"
            ));
        }
        cpio.bytes("init", 0o755, init_script(&insmods, &self.args, nonce).as_bytes())?;
        cpio.finish()
    }

    fn boot(&self, kernel: &SidKernel, initrd: &Path, nonce: &str) -> Result<VmOutcome> {
        let started = Instant::now();
        let mut qemu = Command::new("qemu-system-x86_64");
        qemu.args([
            // One host thread for both vCPUs: with multi-threaded TCG, the kernel's live code
            // patching (int3-based text_poke, as when sched_ext flips its static keys) was seen
            // to oops another vCPU racing through the patched code.
            "-accel",
            "tcg,thread=single",
            "-cpu",
            "max",
            "-m",
            "1024",
            "-smp",
            "2",
            "-nographic",
            "-no-reboot",
            "-nic",
            "none",
        ])
        .arg("-kernel")
        .arg(kernel.vmlinuz())
        .arg("-initrd")
        .arg(initrd)
        .args(["-append", "console=ttyS0 quiet panic=-1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = qemu.spawn().map_err(|source| Error::Spawn { program: "qemu-system-x86_64".into(), source })?;
        let lines = console_lines(&mut child);
        let exit_marker = format!("BPFKIT-VM-EXIT-{nonce}: ");
        let error_marker = format!("BPFKIT-VM-ERROR-{nonce}: ");
        let mut console = String::new();
        let outcome = loop {
            let left = self.timeout.saturating_sub(started.elapsed());
            let line = match lines.recv_timeout(left) {
                Ok(line) => line,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    break Err(format!("no result after {} s (timeout)", self.timeout.as_secs()));
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    break Err("QEMU exited before the guest reported a result (kernel panic or early failure)".into());
                }
            };
            if self.echo {
                println!("vm| {line}");
            }
            console.push_str(&line);
            console.push('\n');
            if let Some(code) = line.strip_prefix(&exit_marker) {
                break code.trim().parse::<i32>().map_err(|_| format!("unreadable exit status '{code}'"));
            }
            if let Some(why) = line.strip_prefix(&error_marker) {
                break Err(format!("guest setup failed: {why}"));
            }
        };
        let boot_and_run = started.elapsed();
        // After the marker the guest powers off at once; give it a moment, then make sure.
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let status = child.wait().map_err(|source| Error::Spawn { program: "qemu-system-x86_64".into(), source })?;
        let mut stderr = String::new();
        if let Some(mut err) = child.stderr.take() {
            let _ = err.read_to_string(&mut stderr);
        }
        match outcome {
            Ok(exit_code) => Ok(VmOutcome { exit_code, console, boot_and_run, kernel: kernel.version().to_owned() }),
            Err(why) => Err(Error::Vm(format!(
                "{why}; kernel {}, QEMU {status}\n--- last console lines ---\n{}\n--- QEMU stderr ---\n{}",
                kernel.version(),
                command::tail(&console, 30),
                command::tail(&stderr, 10)
            ))),
        }
    }
}

/// The guest console as lines, read on a thread (a receive timeout bounds the whole boot).
fn console_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let (send, recv) = mpsc::channel();
    if let Some(stdout) = child.stdout.take() {
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut buf = Vec::new();
            while matches!(reader.read_until(b'\n', &mut buf), Ok(n) if n > 0) {
                let line = printable(&String::from_utf8_lossy(&buf));
                if send.send(line).is_err() {
                    break;
                }
                buf.clear();
            }
        });
    }
    recv
}

/// `line` without its line end, carriage returns and terminal escape sequences (the firmware
/// clears the screen and switches modes on the serial console).
fn printable(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            // ESC [ parameters final-byte (CSI), or ESC + one character.
            '\u{1b}' => {
                if chars.next() == Some('[') {
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
            }
            '\r' | '\n' => {}
            c => out.push(c),
        }
    }
    out
}

/// The guest's `/init`: mount the pseudo file systems, load the modules, run the binary, print
/// the marker with its exit status, power off.
fn init_script(insmods: &str, args: &[String], nonce: &str) -> String {
    let args: String = args.iter().map(|a| format!(" '{}'", a.replace('\'', "'\\''"))).collect();
    format!(
        r#"#!/bin/busybox sh
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t bpf bpf /sys/fs/bpf
ip link set lo up 2>/dev/null
{insmods}cd /test
{IN_VM_ENV}=1 RUST_BACKTRACE=1 {GUEST_BINARY}{args}
echo "BPFKIT-VM-EXIT-{nonce}: $?"
poweroff -f
"#
    )
}

/// The shared libraries `ldd` lists for `binary` (absolute paths, the dynamic loader included).
fn shared_libraries(binary: &Path) -> Result<Vec<PathBuf>> {
    command::need("ldd", "libc-bin")?;
    let out = command::output(Command::new("ldd").arg(binary))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        // A static binary: nothing to copy.
        return if text.contains("not a dynamic executable")
            || String::from_utf8_lossy(&out.stderr).contains("not a dynamic")
        {
            Ok(Vec::new())
        } else {
            Err(command::failed(Command::new("ldd").arg(binary), &out))
        };
    }
    let mut libs = Vec::new();
    for line in text.lines() {
        if line.contains("not found") {
            return Err(Error::Vm(format!("{}: library missing on the host: {}", binary.display(), line.trim())));
        }
        let path = match line.split_once("=>") {
            Some((_, right)) => right.trim().split(' ').next().unwrap_or(""),
            None => line.trim().split(' ').next().unwrap_or(""),
        };
        if path.starts_with('/') {
            libs.push(PathBuf::from(path));
        }
    }
    Ok(libs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_lines_lose_escapes_and_line_ends() {
        assert_eq!(printable("\u{1b}c\u{1b}[?7l\u{1b}[2JBooting from ROM..\r\n"), "Booting from ROM..");
        assert_eq!(printable("plain"), "plain");
    }

    #[test]
    fn init_script_quotes_arguments() {
        let script = init_script("", &["--only".into(), "it's".into()], "n0");
        assert!(script.contains("/test/guest '--only' 'it'\\''s'\n"), "{script}");
        assert!(script.contains("echo \"BPFKIT-VM-EXIT-n0: $?\""));
    }
}
