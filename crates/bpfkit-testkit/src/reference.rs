//! libbpf's own loader as a reference: the sid chroot's `bpftool` (libbpf 1.x inside), run on the
//! host through the chroot's dynamic loader (`ld-linux --library-path`), so it needs no chroot
//! mounts and sees the host's kernel, `/proc` and `/sys` as they are. Tests use it to prove a
//! fixture is valid for the kernel independently of bpfkit.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::chroot::SidRoot;
use crate::command;
use crate::error::{Error, Result};

/// The chroot's bpftool, runnable on the host.
#[derive(Debug, Clone)]
pub struct Bpftool {
    root: PathBuf,
}

impl Bpftool {
    /// The bpftool of chroot `root`.
    pub fn new(root: &SidRoot) -> Result<Bpftool> {
        let tool = Bpftool { root: root.path().to_owned() };
        for needed in [tool.loader(), tool.root.join("usr/sbin/bpftool")] {
            if !needed.is_file() {
                return Err(Error::MissingTool { tool: "bpftool (in the sid chroot)", package: "bpftool" });
            }
        }
        Ok(tool)
    }

    fn loader(&self) -> PathBuf {
        self.root.join("lib64/ld-linux-x86-64.so.2")
    }

    /// A command running bpftool with `args`.
    pub fn command<I: IntoIterator<Item = S>, S: AsRef<std::ffi::OsStr>>(&self, args: I) -> Command {
        let mut cmd = Command::new(self.loader());
        cmd.arg("--library-path")
            .arg(self.root.join("usr/lib/x86_64-linux-gnu"))
            .arg(self.root.join("usr/sbin/bpftool"))
            .args(args);
        cmd
    }

    /// Runs bpftool with `args`; its stdout, or an error with its output.
    pub fn run<I: IntoIterator<Item = S>, S: AsRef<std::ffi::OsStr>>(&self, args: I) -> Result<String> {
        command::run(&mut self.command(args))
    }

    /// Like [`Bpftool::run`], in a private mount namespace with a fresh bpffs on `/sys/fs/bpf` and
    /// tracefs on `/sys/kernel/tracing` (the host's, when it has tracefs mounted there already):
    /// libbpf pins `LIBBPF_PIN_BY_NAME` maps under that default root, and attaches tracepoints by
    /// the ids tracefs lists, and the host may have neither mounted (a test must not litter the host's either). Pins by name vanish with the
    /// namespace; paths given in `args` on a [`BpfFs`] stay visible to the caller (same bpffs).
    pub fn run_isolated<I: IntoIterator<Item = S>, S: AsRef<std::ffi::OsStr>>(&self, args: I) -> Result<String> {
        let inner = self.command(args);
        let mut cmd = Command::new("unshare");
        cmd.args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg(concat!(
                "mount -t bpf bpf /sys/fs/bpf && ",
                // tracefs is one instance: mounting it again where it already is fails (EBUSY).
                "{ grep -q ' /sys/kernel/tracing tracefs ' /proc/self/mounts || ",
                "mount -t tracefs tracefs /sys/kernel/tracing; } && exec \"$@\"",
            ))
            .arg("sh")
            .arg(inner.get_program())
            .args(inner.get_args());
        command::run(&mut cmd)
    }
}

/// Where [`Bpftool::guest_files`] puts bpftool, its loader and its libraries in a VM guest.
pub const GUEST_DIR: &str = "/ref";

/// The command line that runs the reference bpftool inside a VM guest (followed by its
/// arguments); sid's glibc stays apart from the host's, which the test binary uses.
pub const GUEST_COMMAND: [&str; 4] = ["/ref/ld-linux-x86-64.so.2", "--library-path", "/ref/lib", "/ref/bpftool"];

impl Bpftool {
    /// The files to copy into a VM guest (see [`crate::vm::Vm::files`]) to run bpftool there
    /// with [`GUEST_COMMAND`]: the binary, the chroot's dynamic loader and every library the
    /// loader resolves for it.
    pub fn guest_files(&self) -> Result<Vec<(String, PathBuf)>> {
        // `ld.so --list` resolves the libraries exactly as a real run would, inside the chroot.
        let mut listing = Command::new(self.loader());
        listing
            .arg("--list")
            .arg("--library-path")
            .arg(self.root.join("usr/lib/x86_64-linux-gnu"))
            .arg(self.root.join("usr/sbin/bpftool"));
        let out = command::run(&mut listing)?;
        let mut files = vec![
            (format!("{GUEST_DIR}/bpftool"), self.root.join("usr/sbin/bpftool")),
            (format!("{GUEST_DIR}/ld-linux-x86-64.so.2"), self.loader()),
        ];
        for line in out.lines() {
            // "libelf.so.1 => /chroot/usr/lib/.../libelf.so.1 (0x...)"; the loader's own line
            // names it by absolute path and is covered above.
            let Some((name, right)) = line.trim().split_once(" => ") else { continue };
            if name.starts_with('/') {
                continue;
            }
            let path = Path::new(right.split(' ').next().unwrap_or(""));
            if !path.starts_with(&self.root) {
                return Err(Error::Vm(format!(
                    "bpftool library {name} resolved outside the chroot: {}",
                    path.display()
                )));
            }
            files.push((format!("{GUEST_DIR}/lib/{name}"), path.to_owned()));
        }
        Ok(files)
    }
}

/// A private BPF file system instance mounted on a fresh directory, unmounted and removed on
/// drop: pins made by a test never land in (or collide with) the host's `/sys/fs/bpf`.
#[derive(Debug)]
pub struct BpfFs {
    dir: PathBuf,
}

impl BpfFs {
    /// Mounts a new bpffs under the system's temporary directory (needs root).
    pub fn mount(tag: &str) -> Result<BpfFs> {
        let dir = std::env::temp_dir().join(format!("bpfkit-bpffs-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("create", &dir, e))?;
        let fs = BpfFs { dir };
        command::run(Command::new("mount").args(["-t", "bpf", "bpf"]).arg(&fs.dir))?;
        Ok(fs)
    }

    /// The mount point.
    pub fn path(&self) -> &Path {
        &self.dir
    }
}

impl Drop for BpfFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
        let _ = std::fs::remove_dir(&self.dir);
    }
}
