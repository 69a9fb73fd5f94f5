//! A Debian sid chroot that builds what the project cannot build with the host's bookworm
//! toolchain: the test kernel module (against the sid kernel's headers, with pahole for module
//! BTF) and the BPF fixtures (clang-19, libbpf-dev headers). Created once with debootstrap under
//! the cache and reused; a kernel version it has no headers for is added with apt, never by a
//! rebuild.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cache;
use crate::command;
use crate::error::{Error, Result};

/// The Debian mirror debootstrap and the chroot's apt use.
const MIRROR: &str = "http://deb.debian.org/debian";

/// Packages every build needs, besides the kernel headers. `busybox-static` is the guest's
/// userland; `bpftool` generates `vmlinux.h` and is the reference loader in guest checks;
/// `clang-22` builds the scx schedulers that use an arena (see [`crate::real_objects`]).
pub const PACKAGES: &[&str] = &[
    "gcc",
    "make",
    "dwarves",
    "clang-19",
    "llvm-19",
    "clang-22",
    "libbpf-dev",
    "libc6-dev",
    "bpftool",
    "busybox-static",
];

/// The chroot's apt settings. The mirror may serve a snapshot whose Release files are past their
/// `Valid-Until` date (signatures are still checked); the host's apt is configured the same way.
const APT_CONF: &str = "Acquire::Check-Valid-Until \"false\";\nAcquire::Check-Date \"false\";\n";

/// A ready sid chroot.
#[derive(Debug, Clone)]
pub struct SidRoot {
    path: PathBuf,
}

impl SidRoot {
    /// The chroot with [`PACKAGES`] and the headers of `kernel_version` installed, created or
    /// completed as needed. `$BPFKIT_SID_ROOT` names an existing chroot to use instead.
    pub fn ensure(kernel_version: &str) -> Result<SidRoot> {
        if let Some(path) = std::env::var_os("BPFKIT_SID_ROOT") {
            let root = SidRoot { path: PathBuf::from(path) };
            root.require_headers(kernel_version)?;
            return Ok(root);
        }
        let vm = cache::root()?.join("vm");
        let _lock = cache::lock(&vm.join(".chroot.lock"))?;
        let root = SidRoot { path: vm.join("sid-root") };
        let marker = root.marker();
        let wanted = PACKAGES.join(" ");
        match fs::read_to_string(&marker) {
            Ok(done) if done.trim() == wanted => {}
            Ok(_) => {
                eprintln!("bpfkit-testkit: installing packages added to the sid chroot's list");
                root.apt_install(PACKAGES)?;
                fs::write(&marker, &wanted).map_err(|e| Error::io("write", &marker, e))?;
            }
            Err(_) => root.create(&wanted)?,
        }
        root.require_headers(kernel_version)?;
        Ok(root)
    }

    /// The chroot's directory on the host.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `script` with `sh -c` inside the chroot and returns its stdout. The chroot gets its
    /// own `/proc` (objtool reads it) in a private mount namespace, so no mount outlives the
    /// command, whatever happens to it.
    pub fn sh(&self, script: &str) -> Result<String> {
        command::run(
            Command::new("unshare")
                .args(["--mount", "--propagation", "private", "sh", "-c"])
                .arg(r#"mount -t proc proc "$1/proc" && exec chroot "$1" sh -c "$2""#)
                .arg("sh")
                .arg(&self.path)
                .arg(script)
                .env("LC_ALL", "C"),
        )
    }

    /// The kernel build directory for `kernel_version` inside the chroot.
    pub fn kbuild_dir(kernel_version: &str) -> String {
        format!("/usr/src/linux-headers-{kernel_version}")
    }

    fn marker(&self) -> PathBuf {
        self.path.join(".bpfkit-complete")
    }

    /// debootstrap + packages; the marker (holding the package list) is written last, so an
    /// interrupted creation starts over.
    fn create(&self, wanted: &str) -> Result<()> {
        command::need("debootstrap", "debootstrap")?;
        cache::remove(&self.path)?;
        eprintln!("bpfkit-testkit: creating the Debian sid chroot {} (debootstrap)", self.path.display());
        command::run(Command::new("debootstrap").args(["--variant=minbase", "sid"]).arg(&self.path).arg(MIRROR))?;
        let conf = self.path.join("etc/apt/apt.conf.d/99bpfkit");
        fs::write(&conf, APT_CONF).map_err(|e| Error::io("write", &conf, e))?;
        self.apt_install(PACKAGES)?;
        let marker = self.marker();
        fs::write(&marker, wanted).map_err(|e| Error::io("write", &marker, e))
    }

    fn require_headers(&self, kernel_version: &str) -> Result<()> {
        if self.path.join(Self::kbuild_dir(kernel_version).trim_start_matches('/')).join("Makefile").is_file() {
            return Ok(());
        }
        eprintln!("bpfkit-testkit: installing linux-headers-{kernel_version} in the sid chroot");
        self.apt_install(&[&format!("linux-headers-{kernel_version}")])
    }

    fn apt_install(&self, packages: &[&str]) -> Result<()> {
        // Name resolution inside the chroot follows the host's.
        let resolv = self.path.join("etc/resolv.conf");
        let _ = fs::remove_file(&resolv);
        fs::copy("/etc/resolv.conf", &resolv).map_err(|e| Error::io("copy /etc/resolv.conf to", &resolv, e))?;
        self.sh(&format!(
            "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends {}",
            packages.join(" ")
        ))?;
        Ok(())
    }
}
