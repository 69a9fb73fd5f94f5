//! The kernel BTF id a tracing or LSM program is verified against (`attach_btf_id`): the FUNC of
//! an fentry/fexit/fmod_ret target, `btf_trace_<tp>` for `tp_btf`, `bpf_lsm_<hook>` for LSM and
//! `bpf_iter_<name>` for iterators. vmlinux is searched first; a target named `module:function`
//! is searched in that module only, and an unqualified one that vmlinux lacks in the modules,
//! where two modules defining it is an error naming both (libbpf takes whichever comes first).

use std::sync::Arc;

use bpfkit_btf::Kind;
use bpfkit_obj::{AttachTarget, AttachType, ProgramSection, ProgramType};

use crate::error::{Error, Result};
use crate::kernel_btf::{KernelBtf, ModuleBtf};

/// An attach target found in kernel BTF.
#[derive(Debug)]
pub(crate) struct BtfTarget {
    /// The type id (in the module's id space when `module` is set).
    pub id: u32,
    /// The module holding it, `None` for vmlinux.
    pub module: Option<Arc<ModuleBtf>>,
}

/// The BTF name and kind the kernel looks for, given a section's target.
fn btf_name(kind: &ProgramSection, name: &str) -> (String, Kind) {
    match (kind.prog_type, kind.expected_attach_type) {
        (ProgramType::LSM, _) => (format!("bpf_lsm_{name}"), Kind::Func),
        (_, Some(AttachType::TRACE_RAW_TP)) => (format!("btf_trace_{name}"), Kind::Typedef),
        _ => (name.to_owned(), Kind::Func),
    }
}

/// Whether programs of this section are loaded with an `attach_btf_id`.
pub(crate) fn needs_btf_target(kind: &ProgramSection) -> bool {
    matches!(kind.prog_type, ProgramType::TRACING | ProgramType::LSM)
}

/// Resolves the attach target of program `program` with section `kind`.
pub(crate) fn resolve(program: &str, kind: &ProgramSection, kernel: &KernelBtf) -> Result<BtfTarget> {
    let fail = |why: String| Error::Program { program: program.to_owned(), why };
    let AttachTarget::Btf { module, name } = &kind.target else {
        return Err(fail("the section names no kernel function or hook to attach to".into()));
    };
    let (btf_name, btf_kind) = btf_name(kind, name);
    let what = if btf_kind == Kind::Func { "function" } else { "tracepoint type" };
    if let Some(module_name) = module {
        let module = kernel
            .module(module_name)?
            .ok_or_else(|| fail(format!("module {module_name} is not loaded (or has no BTF)")))?;
        let id = module
            .btf
            .find_own_by_name_kind(&btf_name, btf_kind)
            .ok_or_else(|| fail(format!("module {module_name} has no {what} {btf_name} in its BTF")))?;
        kernel.mark_used(&module.name);
        return Ok(BtfTarget { id, module: Some(module) });
    }
    if let Some(id) = kernel.vmlinux().find_by_name_kind(&btf_name, btf_kind) {
        return Ok(BtfTarget { id, module: None });
    }
    let mut found = kernel.find_in_modules(&btf_name, btf_kind)?;
    match found.len() {
        0 => Err(fail(format!("no {what} {btf_name} in the kernel's BTF (vmlinux or loaded modules)"))),
        1 => {
            let (module, id) = found.remove(0);
            kernel.mark_used(&module.name);
            Ok(BtfTarget { id, module: Some(module) })
        }
        _ => {
            let names: Vec<&str> = found.iter().map(|(m, _)| m.name.as_str()).collect();
            Err(fail(format!(
                "{what} {btf_name} is defined by several modules ({}): name one in the section (MODULE:{name})",
                names.join(", ")
            )))
        }
    }
}
