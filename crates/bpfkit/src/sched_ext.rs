//! sched_ext: Linux CPU schedulers written in BPF (a `sched_ext_ops` struct_ops map), run from
//! Rust. [`Scheduler`] loads a scheduler object, fills the enum values its C source expects
//! from kernel BTF (the scx tooling's `SCX_ENUM_INIT` pattern: a `.rodata` variable `__NAME`
//! gets the value of the kernel's enumerator `NAME`), registers it, reports what the kernel
//! says about it (`/sys/kernel/sched_ext/state`, `root/ops`), reads the exit information the
//! kernel hands `ops.exit` (recorded by the scheduler into a `uei` variable, as `UEI_RECORD`
//! does), and unregisters it on [`Scheduler::detach`] or drop.
//!
//! [`prepare`] does everything else the scx tooling does between open and load
//! (`SCX_OPS_OPEN`/`SCX_OPS_LOAD`, `scx_ops_open!`/`scx_ops_load!`), so that a scheduler written
//! for it runs without its own user space: enums, `hotplug_seq`, the exit dump buffer sized to
//! `exit_dump_len`, members this kernel lacks cleared, and the cid-form adjustments.
//!
//! ```no_run
//! let mut open = bpfkit::OpenObject::open("bpf/scx_fifo.bpf.o")?;
//! bpfkit::sched_ext::prepare(&mut open)?;
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

/// The struct_ops types a sched_ext scheduler implements: the cpu form, and the cid form
/// (`sched_ext_ops_cid`, Linux 7.2), whose callbacks take CPU ids in scx's cid space.
pub const OPS_TYPES: [&str; 2] = ["sched_ext_ops", "sched_ext_ops_cid"];

/// `SCX_EXIT_DUMP_DFL_LEN`, for a kernel whose BTF does not say.
const DEFAULT_DUMP_LEN: u32 = 32768;

/// The scheduler's struct_ops map in `model` and its type (one of [`OPS_TYPES`], flavours such
/// as `sched_ext_ops___v2` included); an error when no created map is one, or more than one.
pub fn ops_map(model: &bpfkit_obj::Object) -> Result<(String, &'static str)> {
    // Maps left uncreated (`?.struct_ops.link`, `autocreate` off) are not the scheduler.
    let mut found = model.maps.iter().filter(|m| m.autocreate).filter_map(|m| match &m.kind {
        MapKind::StructOps { type_name, .. } => {
            let essential = bpfkit_btf::essential_name(type_name);
            OPS_TYPES.iter().find(|t| **t == essential).map(|t| (m.name.clone(), *t))
        }
        _ => None,
    });
    let first = found.next().ok_or_else(|| {
        let maps = model.maps.iter().filter(|m| matches!(m.kind, MapKind::StructOps { .. }));
        Error::not_found("sched_ext_ops or sched_ext_ops_cid struct_ops map", "", maps.map(|m| m.name.as_str()))
    })?;
    if let Some((second, _)) = found.next() {
        let why = format!("the object defines a second scheduler, struct_ops map {second}: keep one (`autocreate`)");
        return Err(Error::MapDefinition { map: first.0, why });
    }
    Ok(first)
}

/// What [`prepare`] changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prepared {
    /// The scheduler's struct_ops map.
    pub ops_map: String,
    /// Its type: `sched_ext_ops` or `sched_ext_ops_cid`.
    pub ops_type: String,
    /// `__SCX_*` `.rodata` variables set from the kernel's enums.
    pub enums: usize,
    /// The exit dump buffer's size (`.data.uei_dump`), if the object has one.
    pub dump_len: Option<u32>,
    /// Members the object sets and this kernel's ops struct lacks, cleared (as scx's loaders
    /// clear `cgroup_set_bandwidth` and friends on older kernels).
    pub cleared: Vec<String>,
}

/// Prepares an open scx-convention scheduler for this kernel, as scx's `SCX_OPS_OPEN` and
/// `SCX_OPS_LOAD` do:
///
/// - `__SCX_*` enums from kernel BTF ([`init_enums`]);
/// - `hotplug_seq` from `/sys/kernel/sched_ext/hotplug_seq`, so a CPU hotplug between load
///   and attach makes the kernel refuse the scheduler rather than run it on a stale view;
/// - the exit dump buffer (`.data.<uei>_dump`, a `RESIZABLE_ARRAY`) resized to the ops'
///   `exit_dump_len` (or the kernel's default) and `<uei>_dump_len` set, so that an exit
///   carries the kernel's dump;
/// - members of the ops struct this kernel lacks cleared (a program member unhooked, a scalar
///   zeroed), each named in [`Prepared::cleared`] and logged;
/// - for the cid form, scx's prolog probe (`scx_lib_init_probe`) moved to the cid form's
///   registration function, `bpf_scx_reg_cid`.
pub fn prepare(open: &mut OpenObject) -> Result<Prepared> {
    let (ops_map, ops_type) = ops_map(open.model())?;
    let mut out = Prepared { ops_map: ops_map.clone(), ops_type: ops_type.to_owned(), ..Prepared::default() };
    out.enums = init_enums(open)?;
    let vmlinux = kernel_btf::vmlinux()?;
    if open.struct_ops_field(&ops_map, "hotplug_seq").is_ok() {
        let path = format!("{SYSFS}/hotplug_seq");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Error::sys(format!("{path} (a kernel without sched_ext?)"), e))?;
        let seq: u64 = text.trim().parse().map_err(|_| {
            Error::sys(format!("{path}: {:?} is not a number", text.trim()), std::io::ErrorKind::InvalidData.into())
        })?;
        open.set_struct_ops_field(&ops_map, "hotplug_seq", &seq.to_ne_bytes())?;
    }
    out.dump_len = size_exit_dump(open, &ops_map, &vmlinux)?;
    out.cleared = clear_unknown_members(open, &ops_map, ops_type, &vmlinux)?;
    if ops_type == "sched_ext_ops_cid" {
        if let Ok(probe) = open.program_mut("scx_lib_init_probe") {
            probe.kind = bpfkit_obj::ProgramSection::parse("fentry/bpf_scx_reg_cid");
        }
    }
    Ok(out)
}

/// Sizes the exit dump buffer: the `uei` convention of scx's `UEI_DEFINE(uei)` is a
/// `.data.uei_dump` section holding `char uei_dump[]` and a `.rodata` `u32 uei_dump_len`.
fn size_exit_dump(open: &mut OpenObject, ops_map: &str, vmlinux: &bpfkit_btf::Btf) -> Result<Option<u32>> {
    let Some(dump_len) = open.model().globals().iter().find(|g| g.name.ends_with("_dump_len") && g.size == 4) else {
        return Ok(None);
    };
    let uei = dump_len.name.trim_end_matches("_dump_len").to_owned();
    let section = format!(".data.{uei}_dump");
    if open.model().map(&section).is_none() {
        return Ok(None);
    }
    let asked = open
        .struct_ops_field(ops_map, "exit_dump_len")
        .ok()
        .and_then(|b| b.try_into().ok())
        .map(u32::from_ne_bytes)
        .unwrap_or(0);
    let len =
        if asked != 0 { asked } else { kernel_enum(vmlinux, "SCX_EXIT_DUMP_DFL_LEN").unwrap_or(DEFAULT_DUMP_LEN) };
    open.set_global(&format!("{uei}_dump_len"), &len.to_ne_bytes())?;
    open.resize_data(&section, len)?;
    Ok(Some(len))
}

/// The value of enumerator `name` in vmlinux, if it fits 32 bits.
fn kernel_enum(vmlinux: &bpfkit_btf::Btf, name: &str) -> Option<u32> {
    for ty in vmlinux.types().filter(|t| t.kind() == Kind::Enum) {
        if let TypeDetails::Enum(values) = ty.details() {
            for v in values {
                if vmlinux.str_at(v.name_off).is_ok_and(|n| n == name) {
                    return Some(v.raw_value);
                }
            }
        }
    }
    None
}

/// Clears the members of struct_ops variable `ops_map` that are set in the object but missing
/// from the kernel's `ops_type`: returns their names.
fn clear_unknown_members(
    open: &mut OpenObject,
    ops_map: &str,
    ops_type: &str,
    vmlinux: &bpfkit_btf::Btf,
) -> Result<Vec<String>> {
    let Some(kernel) = vmlinux.find_by_name_kind(ops_type, Kind::Struct) else {
        return Err(Error::not_found("sched_ext struct_ops type in this kernel's BTF", ops_type, []));
    };
    let kernel_names: Vec<&str> =
        vmlinux.type_by_id(kernel)?.members().filter_map(|m| vmlinux.str_at(m.name_off).ok()).collect();
    let model = open.model();
    let (Some(btf), Some(map)) = (model.btf.clone(), model.map(ops_map)) else { return Ok(Vec::new()) };
    let Some(local) = map.def.btf_value_type else { return Ok(Vec::new()) };
    let funcs: Vec<String> = match &map.kind {
        MapKind::StructOps { funcs, .. } => funcs.iter().map(|f| f.member.clone()).collect(),
        _ => Vec::new(),
    };
    let mut cleared = Vec::new();
    for member in btf.type_by_id(local)?.members() {
        let name = btf.str_at(member.name_off)?;
        if name.is_empty() || kernel_names.contains(&name) {
            continue;
        }
        if funcs.iter().any(|f| f == name) {
            open.set_struct_ops_program(ops_map, name, None)?;
        } else {
            let value = open.struct_ops_field(ops_map, name)?;
            if value.iter().all(|&b| b == 0) {
                continue;
            }
            let zeros = vec![0u8; value.len()];
            open.set_struct_ops_field(ops_map, name, &zeros)?;
        }
        log::warn!("sched_ext: this kernel's {ops_type} has no member {name}: cleared it");
        cleared.push(name.to_owned());
    }
    Ok(cleared)
}

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
    /// The kernel's debug dump (tasks, run queues) when the scheduler was aborted, as the
    /// scheduler copied it into its exit dump buffer (`uei_dump`, sized by [`prepare`]).
    pub dump: String,
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
    /// The object's other attached programs (detached after the scheduler).
    programs: Vec<Link>,
}

impl Scheduler {
    /// Registers the scheduler of `obj` (its one `sched_ext_ops` or `sched_ext_ops_cid`
    /// struct_ops map) and waits until the kernel reports it enabled (or refused). As scx's
    /// `scx_ops_attach!` does, it refuses when another scheduler is enabled, and first attaches
    /// the object's other programs that attach by their section name (scx's prolog probe
    /// must see the registration).
    pub fn attach(obj: Object) -> Result<Scheduler> {
        let ops_map = obj
            .maps()
            .find(|m| {
                matches!(m.kind(), MapKind::StructOps { type_name, .. }
                    if OPS_TYPES.contains(&bpfkit_btf::essential_name(type_name)))
            })
            .map(|m| m.name().to_owned())
            .ok_or_else(|| {
                Error::not_found("sched_ext_ops or sched_ext_ops_cid struct_ops map", "", obj.maps().map(|m| m.name()))
            })?;
        let now = state()?;
        if now != "disabled" {
            return Err(Error::sys(
                format!(
                    "sched_ext {ops_map}: another scheduler is {now} ({}); detach it first",
                    current_ops().unwrap_or_else(|| "unnamed".into())
                ),
                std::io::ErrorKind::ResourceBusy.into(),
            ));
        }
        let programs = obj.attach_all()?;
        let link = obj.map(&ops_map)?.attach_struct_ops()?;
        let sched = Scheduler { obj, ops_map, link: Some(link), programs };
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
        let dump = match self.obj.global("uei_dump") {
            Ok(bytes) => String::from_utf8_lossy(&bytes[..bytes.iter().position(|&c| c == 0).unwrap_or(bytes.len())])
                .into_owned(),
            Err(_) => String::new(),
        };
        Ok(Some(ExitInfo {
            kind,
            exit_code: int(8, 8).unwrap_or(0),
            reason: text(16, 128),
            msg: text(144, 1024),
            dump,
        }))
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
        for link in std::mem::take(&mut self.programs) {
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
