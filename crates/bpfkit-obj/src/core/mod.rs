//! CO-RE ("compile once, run everywhere") relocations: the object's instructions were compiled
//! against one kernel's types (its `vmlinux.h`); each `.BTF.ext` CO-RE record says which
//! instruction holds a field offset, a size, an existence bit, a type id or an enum value, and
//! by which access path from which local type. This module finds the same thing in the target
//! kernel's BTF and rewrites the instruction, with no syscalls: the caller supplies the kernel
//! BTF ([`CoreTarget`]: vmlinux, and module BTF asked for only when vmlinux has no candidate).
//!
//! Rules, as the kernel ABI and libbpf define them (see `shared/docs/kernel-abi-notes.md`):
//! candidates have the local type's kind and essential name (flavours `name___x` stripped);
//! every matching candidate must give the same answer, else the relocation is ambiguous (an
//! error naming the candidates); a relocation with no matching candidate resolves the existence
//! checks to 0 and poisons every other instruction, so that only reachable uses fail.
//!
//! ```no_run
//! # fn demo(prog: &mut bpfkit_obj::LinkedProgram, obj: &bpfkit_btf::Btf, kernel: &dyn bpfkit_obj::core::CoreTarget) -> bpfkit_obj::Result<()> {
//! let mut cache = bpfkit_obj::core::CandidateCache::new();
//! for r in bpfkit_obj::core::relocate(prog, obj, kernel, &mut cache)? {
//!     println!("insn {}: {} -> {:?}", r.insn, r.local, r.outcome);
//! }
//! # Ok(()) }
//! ```

mod calc;
mod candidates;
mod compat;
mod kind;
mod matching;
pub mod names;
mod patch;
mod spec;

use bpfkit_btf::{Btf, TypeId};

pub use candidates::{CandidateCache, CoreTarget, ModuleTarget, Origin};
pub use kind::RelocKind;
pub use patch::POISON_HELPER;

/// CO-RE type compatibility (same kinds through pointers, arrays and function prototypes, sizes
/// ignored): what a kfunc's or typed ksym's declaration must have with the kernel's type.
pub fn types_compatible(
    local: &Btf,
    local_id: TypeId,
    target: &Btf,
    target_id: TypeId,
) -> std::result::Result<bool, String> {
    compat::types_compatible(local, local_id, target, target_id)
}

use crate::error::{ObjError, Result};
use crate::program::LinkedProgram;
use calc::{Calc, calc};
use patch::Patch;
use spec::Spec;

/// What became of one relocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The instruction now holds `new` (it held `orig`, the local value).
    Applied {
        /// The value the compiler assumed.
        orig: u64,
        /// The value for the target.
        new: u64,
        /// Where the matching type was found (`None` when no candidate matched and the value
        /// is an existence check's 0, or the relocation needs no target).
        target: Option<(Origin, TypeId)>,
        /// The target access path, libbpf-style.
        target_spec: Option<String>,
    },
    /// No candidate matched: the instruction was poisoned (fails only if reachable).
    Poisoned,
}

/// One applied CO-RE relocation, for logs and inspection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// Instruction index in the linked program.
    pub insn: usize,
    /// What was computed.
    pub kind: RelocKind,
    /// The local access path (`[12] struct task_struct.pid (0:78 @ offset 2460)`).
    pub local: String,
    /// The result.
    pub outcome: Outcome,
}

/// Applies every CO-RE relocation of `prog` (whose `core_relos` index its linked instructions)
/// against `target`, using the object's BTF `local`. Relocations are consumed: on success the
/// program has none left.
pub fn relocate(
    prog: &mut LinkedProgram,
    local: &Btf,
    target: &dyn CoreTarget,
    cache: &mut CandidateCache,
) -> Result<Vec<Resolution>> {
    let mut out = Vec::with_capacity(prog.core_relos.len());
    for relo in std::mem::take(&mut prog.core_relos) {
        let insn = relo.insn_off as usize;
        let fail = |access: &str, why: String| ObjError::Core {
            program: prog.name.clone(),
            insn,
            relocation: access.to_owned(),
            why,
        };
        let kind = RelocKind::from_raw(relo.kind)
            .ok_or_else(|| fail("?", format!("unknown CO-RE relocation kind {}", relo.kind)))?;
        let access = local.str_at(relo.access_str_off).map_err(|e| fail("?", format!("access string: {e}")))?;
        let spec = Spec::parse(local, relo.type_id, access, kind).map_err(|why| fail(access, why))?;
        let described = format!("{kind} {spec}");
        let resolved = resolve(&spec, kind, local, target, cache).map_err(|why| fail(&described, why))?;
        let outcome = match resolved {
            Resolved::Poison => {
                patch::poison(&mut prog.insns, insn);
                Outcome::Poisoned
            }
            Resolved::Patch { patch, target, target_spec } => {
                patch::apply(&mut prog.insns, insn, &patch).map_err(|why| fail(&described, why))?;
                Outcome::Applied { orig: patch.orig, new: patch.new, target, target_spec }
            }
        };
        log::debug!("program {}: insn {insn}: {described} -> {outcome:?}", prog.name);
        out.push(Resolution { insn, kind, local: described, outcome });
    }
    Ok(out)
}

enum Resolved {
    Poison,
    Patch { patch: Patch, target: Option<(Origin, TypeId)>, target_spec: Option<String> },
}

/// The local value, and the target's from every matching candidate (which must agree).
fn resolve(
    spec: &Spec<'_>,
    kind: RelocKind,
    local: &Btf,
    target: &dyn CoreTarget,
    cache: &mut CandidateCache,
) -> std::result::Result<Resolved, String> {
    let local_value = match calc(kind, Some(spec))? {
        Calc::Value(v) => v,
        Calc::Poison => return Err("the local BTF does not describe this access".into()),
    };
    if kind == RelocKind::TypeIdLocal {
        let patch = Patch {
            orig: local_value.value,
            new: local_value.value,
            validate: true,
            resize: None,
            resize_forbidden: false,
        };
        return Ok(Resolved::Patch { patch, target: None, target_spec: None });
    }
    let root = local.type_by_id(spec.root_type_id).map_err(|e| e.to_string())?;
    let name = root.name().map_err(|e| e.to_string())?;
    if name.is_empty() {
        return Err("CO-RE relocations against anonymous types cannot be matched to a kernel type".into());
    }
    let candidates = cache.candidates(target, spec.root_type_id, name, root.kind())?.to_vec();
    let mut chosen: Option<(calc::Value, Spec<'_>, &candidates::Candidate)> = None;
    for cand in &candidates {
        let btf: &Btf = cand.module.as_deref().unwrap_or_else(|| target.vmlinux());
        let Some(tspec) = matching::match_candidate(spec, btf, cand.id)? else { continue };
        let Calc::Value(v) = calc(kind, Some(&tspec))? else {
            return Err(format!("candidate [{}] matched but describes no value", cand.id));
        };
        match &chosen {
            None => chosen = Some((v, tspec, cand)),
            Some((first, first_spec, first_cand)) => {
                let differs = (kind.is_field() && first_spec.bit_offset != tspec.bit_offset) || first.value != v.value;
                if differs {
                    return Err(format!(
                        "ambiguous: candidates [{}] in {} ({first_spec}) and [{}] in {} ({tspec}) give {} and {}",
                        first_cand.id,
                        origin_name(&first_cand.origin),
                        cand.id,
                        origin_name(&cand.origin),
                        first.value,
                        v.value
                    ));
                }
            }
        }
    }
    let Some((value, tspec, cand)) = chosen else {
        // No candidate matched: existence checks are 0, the rest is poisoned.
        return Ok(match calc(kind, None)? {
            Calc::Poison => Resolved::Poison,
            Calc::Value(v) => Resolved::Patch {
                patch: Patch {
                    orig: local_value.value,
                    new: v.value,
                    validate: local_value.validate,
                    resize: None,
                    resize_forbidden: false,
                },
                target: None,
                target_spec: None,
            },
        });
    };
    // A load or store of the field follows the field's size when it changes, for the types
    // where that is safe: pointers, and unsigned integers.
    let (mut resize, mut resize_forbidden) = (None, false);
    if kind == RelocKind::FieldByteOffset {
        if let (Some((lsize, ltype)), Some((tsize, ttype))) = (local_value.field_size, value.field_size) {
            if lsize != tsize {
                resize = Some((lsize, tsize));
                let tbtf: &Btf = cand.module.as_deref().unwrap_or_else(|| target.vmlinux());
                resize_forbidden = !resizable(local, ltype, tbtf, ttype);
            }
        }
    }
    let patch =
        Patch { orig: local_value.value, new: value.value, validate: local_value.validate, resize, resize_forbidden };
    Ok(Resolved::Patch { patch, target: Some((cand.origin.clone(), cand.id)), target_spec: Some(tspec.to_string()) })
}

fn origin_name(o: &Origin) -> &str {
    match o {
        Origin::Vmlinux => "vmlinux",
        Origin::Module(m) => m,
    }
}

/// Both pointers, or both unsigned integers.
fn resizable(local: &Btf, lid: TypeId, target: &Btf, tid: TypeId) -> bool {
    use bpfkit_btf::TypeDetails;
    fn peel(btf: &Btf, id: TypeId) -> Option<TypeDetails<'_>> {
        btf.resolve(id).ok().and_then(|id| btf.type_by_id(id).ok().map(|t| t.details()))
    }
    match (peel(local, lid), peel(target, tid)) {
        (Some(TypeDetails::Ptr(_)), Some(TypeDetails::Ptr(_))) => true,
        (Some(TypeDetails::Int(a)), Some(TypeDetails::Int(b))) => {
            !a.encoding().is_signed() && !b.encoding().is_signed()
        }
        _ => false,
    }
}
