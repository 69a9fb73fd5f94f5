//! Prototypes of kfuncs, the kernel functions BPF programs may call, so that programs can call
//! them without declaring them: `extern RET NAME(PARAMS) __weak __ksym;`, sorted by name.
//!
//! The kernel marks kfuncs with a `bpf_kfunc` declaration tag on the FUNC (and those that keep
//! caller-saved registers with `bpf_fastcall`, printed as `__bpf_fastcall`). `__weak` lets a
//! program load on kernels that lack one; the whole list sits in `#ifndef
//! BPF_NO_KFUNC_PROTOTYPES` for programs that declare kfuncs themselves.

use super::state::{Dumper, Result};
use crate::TypeId;
use crate::kind::Kind;
use crate::types::TypeDetails;

/// Declaration tag that marks a kfunc.
const KFUNC_TAG: &str = "bpf_kfunc";
/// Declaration tag that marks a kfunc callable with the fastcall convention.
const FASTCALL_TAG: &str = "bpf_fastcall";

impl Dumper<'_> {
    /// Prints the kfunc section (present, if empty, whenever kfuncs are asked for).
    pub fn kfunc_prototypes(&mut self) -> Result<()> {
        let mut kfuncs: Vec<(&str, TypeId)> = Vec::new();
        let mut fastcalls: Vec<TypeId> = Vec::new();
        for id in 1..self.btf.type_count() {
            let t = self.ty(id)?;
            let TypeDetails::DeclTag { ty: func, component_idx: -1 } = t.details() else { continue };
            if self.kind(func)? != Some(Kind::Func) {
                continue;
            }
            match t.name()? {
                KFUNC_TAG => kfuncs.push((self.ty(func)?.name()?, func)),
                FASTCALL_TAG => fastcalls.push(func),
                _ => {}
            }
        }
        kfuncs.sort_by(|a, b| a.0.cmp(b.0));
        self.out.put("\n/* BPF kfuncs */\n#ifndef BPF_NO_KFUNC_PROTOTYPES\n");
        for (name, func) in kfuncs {
            self.out.put("extern ");
            if fastcalls.contains(&func) {
                self.out.put("__bpf_fastcall ");
            }
            let proto = self.ty(func)?.size_or_type();
            self.decl(proto, name, 0)?;
            self.out.put(" __weak __ksym;\n");
            self.stats.kfuncs += 1;
        }
        self.out.put("#endif\n\n");
        Ok(())
    }
}
