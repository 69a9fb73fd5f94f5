//! sched_ext: Linux CPU schedulers written in BPF (a `sched_ext_ops` struct_ops map), run from
//! Rust. [`Scheduler`] loads a scheduler object, fills the enum values its C source expects
//! from kernel BTF (the scx tooling's `SCX_ENUM_INIT` pattern: a `.rodata` variable `__NAME`
//! gets the value of the kernel's enumerator `NAME`), registers it, reports what the kernel
//! says about it (`/sys/kernel/sched_ext/state`, `root/ops`), reads the exit information the
//! kernel hands `ops.exit` (recorded by the scheduler into a `uei` variable, as `UEI_RECORD`
//! does), and unregisters it on [`Scheduler::detach`] or drop.
//!
//! ```no_run
//! let mut open = bpfkit::OpenObject::open("bpf/scx_fifo.bpf.o")?;
//! bpfkit::sched_ext::init_enums(&mut open)?;
//! let mut sched = bpfkit::sched_ext::Scheduler::attach(open.load()?)?;
//! println!("state: {}", bpfkit::sched_ext::state()?);
//! let info = sched.detach()?;
//! println!("{info}");
//! # Ok::<(), bpfkit::Error>(())
//! ```

use std::fmt;
use std::time::{Duration, Instant};

use bpfkit_btf::{Kind, TypeDetails};
use bpfkit_obj::MapKind;

use crate::error::{Error, Result};
use crate::kernel_btf;
use crate::link::Link;
use crate::object::{Object, OpenObject};

/// Where the kernel reports sched_ext's state.
const SYSFS: &str = "/sys/kernel/sched_ext";

/// `SCX_EXIT_UNREG`, `SCX_EXIT_UNREG_BPF`, `SCX_EXIT_UNREG_KERN`: orderly unregistrations.
const CLEAN_EXITS: [i32; 3] = [64, 65, 66];

/// sched_ext's state: `disabled`, `enabling`, `enabled`, `disabling`.
pub fn state() -> Result<String> {
    let path = format!("{SYSFS}/state");
    std::fs::read_to_string(&path)
        .map(|s| s.trim().to_owned())
        .map_err(|e| Error::sys(format!("{path} (a kernel without sched_ext?)"), e))
}

/// The name of the scheduler the kernel runs, if any (`root/ops`).
pub fn current_ops() -> Option<String> {
    std::fs::read_to_string(format!("{SYSFS}/root/ops")).ok().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// Sets every `.rodata` variable named `__NAME` to the value of the kernel's enumerator `NAME`
/// (vmlinux BTF), sized to the variable: how schedulers written for the scx tooling learn
/// values such as `SCX_DSQ_LOCAL` or `SCX_SLICE_DFL` that differ between kernels. Returns how
/// many it set; a `__NAME` the kernel lacks is left as the object initialised it.
pub fn init_enums(open: &mut OpenObject) -> Result<usize> {
    let vmlinux = kernel_btf::vmlinux()?;
    let mut values: Vec<(String, i128)> = Vec::new();
    for ty in vmlinux.types().filter(|t| matches!(t.kind(), Kind::Enum | Kind::Enum64)) {
        let list: Vec<(u32, i128)> = match ty.details() {
            TypeDetails::Enum(e) => e.map(|v| (v.name_off, i128::from(v.value()))).collect(),
            TypeDetails::Enum64(e) => {
                let signed = ty.kind_flag();
                e.map(|v| (v.name_off, if signed { i128::from(v.value()) } else { i128::from(v.raw_value()) }))
                    .collect()
            }
            _ => Vec::new(),
        };
        for (off, value) in list {
            if let Ok(name) = vmlinux.str_at(off) {
                if name.starts_with("SCX_") || name.starts_with("__SCX_") {
                    values.push((name.to_owned(), value));
                }
            }
        }
    }
    let wanted: Vec<(String, u32)> = open
        .model()
        .globals()
        .iter()
        .filter(|g| {
            g.name.starts_with("__") && open.model().maps.get(g.map).is_some_and(|m| m.name.starts_with(".rodata"))
        })
        .map(|g| (g.name.clone(), g.size))
        .collect();
    let mut set = 0;
    for (var, size) in wanted {
        let Some((_, value)) = values.iter().find(|(n, _)| Some(n.as_str()) == var.strip_prefix("__")) else {
            continue;
        };
        let bytes = (*value as u128).to_le_bytes();
        if let Some(b) = bytes.get(..size as usize) {
            open.set_global(&var, b)?;
            set += 1;
        }
    }
    Ok(set)
}

/// What the kernel said when the scheduler ended (`struct scx_exit_info`, as `ops.exit` saw it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitInfo {
    /// `enum scx_exit_kind`: 64.. are unregistrations, 1024.. errors.
    pub kind: i32,
    /// The exit code a scheduler gave `scx_bpf_exit()`, or 0.
    pub exit_code: i64,
    /// The kernel's reason text.
    pub reason: String,
    /// The detail message.
    pub msg: String,
}

impl ExitInfo {
    /// An orderly unregistration (from user space, BPF or the kernel), not an error.
    pub fn is_clean(&self) -> bool {
        CLEAN_EXITS.contains(&self.kind)
    }
}

impl fmt::Display for ExitInfo {
    /// `EXIT: reason (msg)`, as the scx tools print it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EXIT: {}", self.reason)?;
        if !self.msg.is_empty() {
            write!(f, " ({})", self.msg)?;
        }
        if self.exit_code != 0 {
            write!(f, " exit code {}", self.exit_code)?;
        }
        Ok(())
    }
}

/// A registered scheduler.
#[derive(Debug)]
pub struct Scheduler {
    obj: Object,
    ops_map: String,
    link: Option<Link>,
}

impl Scheduler {
    /// Registers the scheduler of `obj` (its one `sched_ext_ops` struct_ops map) and waits
    /// until the kernel reports it enabled (or refused).
    pub fn attach(obj: Object) -> Result<Scheduler> {
        let ops_map = obj
            .maps()
            .find(|m| matches!(m.kind(), MapKind::StructOps { type_name, .. } if type_name == "sched_ext_ops"))
            .map(|m| m.name().to_owned())
            .ok_or_else(|| Error::not_found("sched_ext_ops struct_ops map", "", obj.maps().map(|m| m.name())))?;
        let link = obj.map(&ops_map)?.attach_struct_ops()?;
        let sched = Scheduler { obj, ops_map, link: Some(link) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while state()? == "enabling" && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(sched)
    }

    /// The loaded object (maps with stats, globals).
    pub fn object(&self) -> &Object {
        &self.obj
    }

    /// The struct_ops map's name.
    pub fn ops_map(&self) -> &str {
        &self.ops_map
    }

    /// The exit information, once the scheduler has ended (`None` while it runs). Needs a `uei`
    /// variable (`kind`, `exit_cpu`, `exit_code`, `reason[128]`, `msg[1024]`) that `ops.exit`
    /// fills.
    pub fn exit_info(&self) -> Result<Option<ExitInfo>> {
        let raw = self.obj.global("uei")?;
        let int = |at: usize, n: usize| {
            raw.get(at..at + n).map(|b| b.iter().rev().fold(0i64, |a, &x| (a << 8) | i64::from(x)))
        };
        let kind = int(0, 4).unwrap_or(0) as i32;
        if kind == 0 {
            return Ok(None);
        }
        let text = |at: usize, n: usize| {
            let b = raw.get(at..(at + n).min(raw.len())).unwrap_or(&[]);
            String::from_utf8_lossy(&b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())]).into_owned()
        };
        Ok(Some(ExitInfo { kind, exit_code: int(8, 8).unwrap_or(0), reason: text(16, 128), msg: text(144, 1024) }))
    }

    /// Waits up to `timeout` for the scheduler to end by itself (an error, or `scx_bpf_exit`).
    pub fn wait(&self, timeout: Duration) -> Result<Option<ExitInfo>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(info) = self.exit_info()? {
                return Ok(Some(info));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Unregisters the scheduler and returns the exit information the kernel gave it.
    pub fn detach(mut self) -> Result<ExitInfo> {
        if let Some(link) = self.link.take() {
            link.detach()?;
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(info) = self.exit_info()? {
                if state()? == "disabled" || Instant::now() >= deadline {
                    return Ok(info);
                }
            } else if Instant::now() >= deadline {
                return Err(Error::sys(
                    format!("sched_ext {}: no exit information 10 s after detaching", self.ops_map),
                    std::io::Error::from(std::io::ErrorKind::TimedOut),
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
