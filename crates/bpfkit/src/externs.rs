//! Resolving an object's externs against the running kernel and writing them into the
//! instructions (see `bpfkit_obj::Extern` for what the object declares).
//!
//! - kfunc calls: `call` with `src_reg = BPF_PSEUDO_KFUNC_CALL`, `imm` = the kernel FUNC's id,
//!   `off` = 0 for vmlinux or the module's slot in the program's `fd_array` (one slot per
//!   module, slot 0 unused);
//! - typed variables and kfunc addresses (`bpf_ksym_exists`): `ld_imm64` with `src_reg =
//!   BPF_PSEUDO_BTF_ID`, `imm` = the VAR's (or FUNC's) id, second slot = the module's BTF fd;
//! - typeless symbols: `ld_imm64` of the address from `/proc/kallsyms`;
//! - `__kconfig` values: written into the `.kconfig` map before it is created.
//!
//! vmlinux is searched first, then module BTF. A declaration whose type does not match the
//! kernel's (CO-RE compatibility: same parameter count, compatible types) does not resolve,
//! which is how `name___flavour` variants pick the one matching this kernel. Unresolved weak
//! externs become 0 (variables, addresses) or a call that fails only if reachable (kfuncs);
//! unresolved strong ones fail the load, all named at once. Better than libbpf: a symbol
//! defined by two modules is an error naming both, unless the caller chose the module.

use std::collections::{HashMap, HashSet};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;

use bpfkit_btf::{Btf, Kind, TypeDetails, TypeId};
use bpfkit_obj::core::types_compatible;
use bpfkit_obj::insn::{PSEUDO_BTF_ID, PSEUDO_KFUNC_CALL};
use bpfkit_obj::{DataKind, Extern, ExternKind, Insn, MapKind};

use crate::error::{Error, Result};
use crate::kallsyms::Kallsyms;
use crate::kconfig;
use crate::kernel_btf::{KernelBtf, ModuleBtf};

/// Helper id base of calls to missing weak kfuncs (`+ extern index`), as libbpf encodes them, so
/// a verifier complaint about one can be traced back to the kfunc.
pub(crate) const MISSING_KFUNC_BASE: i32 = 2_002_000_000;

/// What one extern resolved to.
#[derive(Debug, Clone)]
pub(crate) enum Resolved {
    /// A FUNC or VAR in kernel BTF (`module`: `None` for vmlinux).
    Btf { id: TypeId, module: Option<Arc<ModuleBtf>> },
    /// An address (typeless symbol).
    Address(u64),
    /// A weak extern the kernel lacks.
    Missing,
}

/// Caller's choices about externs.
#[derive(Debug, Clone, Default)]
pub(crate) struct ExternOptions {
    /// `CONFIG_*` (or libbpf-defined) values overriding the running kernel's.
    pub kconfig: HashMap<String, String>,
    /// Kernel symbol -> the module it must come from.
    pub modules: HashMap<String, String>,
}

/// Why an extern did not resolve.
enum Unresolved {
    /// Not there (or not of a matching type): a weak extern becomes 0.
    Absent(String),
    /// A problem even for a weak extern (ambiguity, unreadable kernel data, bad value).
    Fatal(String),
}

type Outcome = std::result::Result<Resolved, Unresolved>;

/// Resolution of one object's externs.
#[derive(Debug, Default)]
pub(crate) struct Externs {
    by_name: HashMap<String, (usize, Resolved)>,
}

impl Externs {
    /// Resolves the externs in `used` (and every kconfig extern, filling `.kconfig`'s data).
    pub(crate) fn resolve(
        model: &mut bpfkit_obj::Object,
        used: &HashSet<String>,
        kernel: &KernelBtf,
        options: &ExternOptions,
    ) -> Result<Externs> {
        let mut out = Externs::default();
        let mut missing = Vec::new();
        let typeless: Vec<&str> = model
            .externs
            .iter()
            .filter(|e| e.kind == ExternKind::TypelessKsym && used.contains(&e.name))
            .map(Extern::kernel_name)
            .collect();
        let kallsyms = if typeless.is_empty() { None } else { Some(Kallsyms::read(&typeless)) };
        let local = model.btf.clone();
        let mut kconfig_values: Vec<(u32, Vec<u8>)> = Vec::new();
        let mut config: Option<std::result::Result<HashMap<String, String>, String>> = None;
        for (index, ext) in model.externs.iter().enumerate() {
            let is_kconfig = matches!(ext.kind, ExternKind::Kconfig { .. });
            if !is_kconfig && !used.contains(&ext.name) {
                continue;
            }
            let Some(local) = local.as_deref() else {
                missing.push(format!("{}: the object has no BTF to describe it", ext.name));
                continue;
            };
            let outcome: Outcome = match &ext.kind {
                ExternKind::Kfunc { func } => {
                    find_btf(kernel, ext, Kind::Func, options, |kbtf, kid| func_matches(local, *func, kbtf, kid))
                }
                ExternKind::Ksym { ty, .. } => {
                    find_btf(kernel, ext, Kind::Var, options, |kbtf, kid| var_matches(local, *ty, kbtf, kid))
                }
                ExternKind::TypelessKsym => match kallsyms
                    .as_ref()
                    .ok_or_else(|| "kallsyms not read".to_owned())
                    .and_then(|r| r.as_ref().map_err(Clone::clone))
                {
                    Ok(k) => match k.address(ext.kernel_name()) {
                        Ok(Some(a)) => Ok(Resolved::Address(a)),
                        Ok(None) => Err(Unresolved::Absent(describe(ext).into())),
                        Err(why) => Err(Unresolved::Fatal(why)),
                    },
                    Err(e) => Err(Unresolved::Fatal(e)),
                },
                ExternKind::Kconfig { ty, offset, size } => match kconfig_value(ext, options, &mut config) {
                    Ok(text) => match kconfig::encode(local, *ty, *size, &text) {
                        Ok(bytes) => {
                            kconfig_values.push((*offset, bytes));
                            Ok(Resolved::Address(0))
                        }
                        Err(why) => Err(Unresolved::Fatal(format!("value {text}: {why}"))),
                    },
                    Err(u) => Err(u),
                },
            };
            match outcome {
                Ok(r) => {
                    out.by_name.insert(ext.name.clone(), (index, r));
                }
                Err(Unresolved::Absent(why)) if ext.weak => {
                    log::debug!("weak extern {} left unresolved: {why}", ext.name);
                    out.by_name.insert(ext.name.clone(), (index, Resolved::Missing));
                }
                Err(Unresolved::Absent(why) | Unresolved::Fatal(why)) => missing.push(format!("{}: {why}", ext.name)),
            }
        }
        if !missing.is_empty() {
            return Err(Error::Externs { object: model.name.clone(), unresolved: missing });
        }
        if let Some(map) = model.maps.iter_mut().find(|m| m.kind == MapKind::Data(DataKind::Kconfig)) {
            for (offset, bytes) in kconfig_values {
                let end = offset as usize + bytes.len();
                if let Some(slot) = map.data.get_mut(offset as usize..end) {
                    slot.copy_from_slice(&bytes);
                }
            }
        }
        Ok(out)
    }

    /// Writes the externs into `insns` (`refs`: instruction index and symbol), building the
    /// program's `fd_array` for module kfuncs.
    pub(crate) fn patch(&self, program: &str, insns: &mut [Insn], refs: &[(usize, String)]) -> Result<Vec<RawFd>> {
        let mut fd_array: Vec<RawFd> = Vec::new();
        // (module BTF id, its slot in fd_array): a program calls into a few modules at most.
        let mut slots: Vec<(u32, i16)> = Vec::new();
        let fail = |why: String| Error::Program { program: program.to_owned(), why };
        for (at, name) in refs {
            let (index, resolved) = self
                .by_name
                .get(name)
                .ok_or_else(|| fail(format!("extern {name} was not resolved (no BTF for it?)")))?;
            let insn = *insns.get(*at).ok_or_else(|| fail(format!("extern {name}: instruction {at} out of range")))?;
            if insn.code == bpfkit_obj::insn::CALL {
                let slot = match resolved {
                    Resolved::Btf { module: Some(m), .. } => {
                        if fd_array.is_empty() {
                            fd_array.push(0); // slot 0: vmlinux, never read
                        }
                        let next = fd_array.len();
                        let slot = match slots.iter().find(|(id, _)| *id == m.id) {
                            Some(&(_, slot)) => slot,
                            None => {
                                fd_array.push(m.fd.as_raw_fd());
                                slots.push((m.id, next as i16));
                                next as i16
                            }
                        };
                        if fd_array.len() > 256 {
                            return Err(fail("kfuncs from more than 255 modules in one program".into()));
                        }
                        slot
                    }
                    _ => 0,
                };
                let i = &mut insns[*at];
                match resolved {
                    Resolved::Btf { id, .. } => {
                        i.set_src(PSEUDO_KFUNC_CALL);
                        i.imm = *id as i32;
                        i.off = slot;
                    }
                    Resolved::Missing => {
                        i.set_src(0);
                        i.off = 0;
                        i.imm = MISSING_KFUNC_BASE + *index as i32;
                    }
                    Resolved::Address(_) => return Err(fail(format!("{name} is called but is not a function"))),
                }
                continue;
            }
            if !insn.is_ld_imm64() || insns.get(*at + 1).is_none() {
                return Err(fail(format!(
                    "extern {name} used by instruction {at}, which is neither a call nor ld_imm64"
                )));
            }
            let (src, lo, hi) = match resolved {
                Resolved::Btf { id, module } => {
                    (PSEUDO_BTF_ID, *id as i32, module.as_ref().map_or(0, |m| m.fd.as_raw_fd()))
                }
                Resolved::Address(a) => (0, *a as u32 as i32, (*a >> 32) as u32 as i32),
                Resolved::Missing => (0, 0, 0),
            };
            insns[*at].set_src(src);
            insns[*at].imm = lo;
            insns[*at + 1].imm = hi;
        }
        Ok(fd_array)
    }

    /// The weak kfunc a verifier message about `unknown#N` refers to.
    pub(crate) fn missing_kfunc(&self, helper: i64) -> Option<&str> {
        let index = usize::try_from(helper - i64::from(MISSING_KFUNC_BASE)).ok()?;
        self.by_name.iter().find(|(_, (i, r))| *i == index && matches!(r, Resolved::Missing)).map(|(n, _)| n.as_str())
    }
}

fn describe(ext: &Extern) -> &'static str {
    match ext.kind {
        ExternKind::Kfunc { .. } => "kfunc: not in vmlinux or any loaded module's BTF",
        ExternKind::Ksym { .. } => "kernel variable: not in vmlinux or any loaded module's BTF",
        ExternKind::TypelessKsym => "kernel symbol: not in /proc/kallsyms",
        ExternKind::Kconfig { .. } => "kconfig value: not in the kernel's configuration",
    }
}

/// The configuration text of a kconfig extern (`None`: the kernel has no such option).
fn kconfig_value(
    ext: &Extern,
    options: &ExternOptions,
    config: &mut Option<std::result::Result<HashMap<String, String>, String>>,
) -> std::result::Result<String, Unresolved> {
    if let Some(v) = options.kconfig.get(&ext.name) {
        return Ok(v.clone());
    }
    let version = || {
        let release = kconfig::release().map_err(Unresolved::Fatal)?;
        kconfig::kernel_version(&release).ok_or_else(|| Unresolved::Fatal(format!("no version in release {release:?}")))
    };
    match ext.name.as_str() {
        "LINUX_KERNEL_VERSION" => return Ok(version()?.to_string()),
        "LINUX_HAS_SYSCALL_WRAPPER" => {
            let wraps = matches!(std::env::consts::ARCH, "x86_64" | "aarch64" | "s390x" | "riscv64");
            return Ok(if wraps { "y" } else { "n" }.into());
        }
        "LINUX_HAS_BPF_COOKIE" => return Ok(if version()? >= (5 << 16) + (15 << 8) { "y" } else { "n" }.into()),
        // Another `LINUX_` name is a value of a newer libbpf: 0 when weak, as libbpf gives it.
        other if other.starts_with("LINUX_") => {
            return Err(Unresolved::Absent("not a value this loader (or libbpf) defines among LINUX_*".into()));
        }
        _ => {}
    }
    if !ext.name.starts_with("CONFIG_") {
        return Err(Unresolved::Fatal(
            "neither a CONFIG_ option nor a LINUX_ value: libbpf's convention has no other __kconfig names".into(),
        ));
    }
    match config.get_or_insert_with(kconfig::running_config) {
        Ok(c) => c.get(&ext.name).cloned().ok_or_else(|| Unresolved::Absent(describe(ext).into())),
        Err(e) => Err(Unresolved::Fatal(e.clone())),
    }
}

/// The kernel FUNC or VAR `ext` names, vmlinux first, then modules, accepting only candidates
/// `matches` approves; a symbol that two modules define is refused unless the caller chose one.
fn find_btf(
    kernel: &KernelBtf,
    ext: &Extern,
    kind: Kind,
    options: &ExternOptions,
    matches: impl Fn(&Btf, TypeId) -> std::result::Result<bool, String>,
) -> Outcome {
    let name = ext.kernel_name();
    let chosen = options.modules.get(name).or_else(|| options.modules.get(&ext.name));
    if chosen.is_none() {
        let mut incompatible = false;
        for id in kernel.vmlinux().find_all_by_name_kind(name, kind) {
            if matches(kernel.vmlinux(), id).map_err(Unresolved::Fatal)? {
                return Ok(Resolved::Btf { id, module: None });
            }
            incompatible = true;
        }
        if incompatible {
            return Err(Unresolved::Absent(format!(
                "vmlinux has {name}, of a type that does not match the declaration"
            )));
        }
    }
    let modules = kernel.modules().map_err(|e| Unresolved::Fatal(e.to_string()))?;
    let mut found = Vec::new();
    for m in &modules {
        if chosen.is_some_and(|c| *c != m.name) {
            continue;
        }
        for id in m.btf.find_all_by_name_kind(name, kind).into_iter().filter(|&id| id >= m.btf.first_id()) {
            if matches(&m.btf, id).map_err(Unresolved::Fatal)? {
                found.push((m.clone(), id));
                break;
            }
        }
    }
    match found.len() {
        0 => match chosen {
            Some(c) if !modules.iter().any(|m| m.name == *c) => {
                Err(Unresolved::Fatal(format!("module {c} (chosen for {name}) is not loaded")))
            }
            Some(c) => Err(Unresolved::Absent(format!("module {c} has no {name} of a matching type"))),
            None => Err(Unresolved::Absent(describe(ext).into())),
        },
        1 => {
            let (module, id) = found.remove(0);
            kernel.mark_used(&module.name);
            Ok(Resolved::Btf { id, module: Some(module) })
        }
        _ => {
            let names: Vec<&str> = found.iter().map(|(m, _)| m.name.as_str()).collect();
            Err(Unresolved::Fatal(format!(
                "{name} is defined by several modules ({}): choose one with OpenObject::set_extern_module",
                names.join(", ")
            )))
        }
    }
}

/// A local kfunc declaration (FUNC) against a kernel FUNC: their prototypes must be compatible.
fn func_matches(local: &Btf, func: TypeId, kernel: &Btf, kid: TypeId) -> std::result::Result<bool, String> {
    let proto = |btf: &Btf, id| match btf.type_by_id(id).map(|t| t.details()) {
        Ok(TypeDetails::Func { proto, .. }) => Ok(proto),
        _ => Err(format!("[{id}] is not a FUNC")),
    };
    types_compatible(local, proto(local, func)?, kernel, proto(kernel, kid)?)
}

/// A local typed ksym against a kernel VAR: their types must be compatible.
fn var_matches(local: &Btf, ty: TypeId, kernel: &Btf, kid: TypeId) -> std::result::Result<bool, String> {
    match kernel.type_by_id(kid).map(|t| t.details()) {
        Ok(TypeDetails::Var { ty: kty, .. }) => types_compatible(local, ty, kernel, kty),
        _ => Err(format!("[{kid}] is not a VAR")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kconfig(name: &str, weak: bool) -> Extern {
        Extern { name: name.into(), kind: ExternKind::Kconfig { ty: 0, offset: 0, size: 4 }, weak }
    }

    /// libbpf's rule for `__kconfig` names: `CONFIG_*` from the configuration, its `LINUX_*`
    /// built-ins, 0 for another (weak) `LINUX_*`, and an error for any other name, weak or not.
    #[test]
    fn kconfig_names_follow_libbpf() {
        let options = ExternOptions::default();
        let mut config = Some(Ok(HashMap::from([("CONFIG_HZ".to_owned(), "250".to_owned())])));
        let value = |name: &str, config: &mut _| kconfig_value(&kconfig(name, true), &options, config);
        assert_eq!(value("CONFIG_HZ", &mut config).ok().as_deref(), Some("250"));
        assert!(matches!(value("CONFIG_NOT_SET_HERE", &mut config), Err(Unresolved::Absent(_))));
        // A LINUX_ name this loader does not define is absent: 0 when weak, an error when strong.
        assert!(matches!(value("LINUX_FROM_A_NEWER_LIBBPF", &mut config), Err(Unresolved::Absent(_))));
        assert!(matches!(value("SOMETHING_ELSE", &mut config), Err(Unresolved::Fatal(why)) if why.contains("LINUX_")));
        assert!(value("LINUX_HAS_SYSCALL_WRAPPER", &mut config).is_ok());
    }
}
