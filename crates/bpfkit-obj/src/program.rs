//! A program of the object, linked: its own function followed by every subprogram it calls
//! (directly or through callbacks), with calls, BTF.ext records and relocations rebased to the
//! linked instruction stream, ready for the loader to write fds into.

use crate::btf_ext::{CoreRelo, FuncInfo, LineInfo};
use crate::error::{ObjError, Result};
use crate::insn::{Insn, PSEUDO_MAP_FD, PSEUDO_MAP_VALUE};
use crate::reloc::{InsnReloc, RelocTarget};
use crate::section::ProgramSection;

/// A linked program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// The function's name (the kernel sees at most 15 bytes of it).
    pub name: String,
    /// The ELF section it was compiled into (its `SEC()` name).
    pub section: String,
    /// What the section name says about it; `None` for names outside libbpf's conventions,
    /// which the caller must then classify before load.
    pub kind: Option<ProgramSection>,
    /// Instructions: the program's function first, then the subprograms it calls.
    pub insns: Vec<Insn>,
    /// Instructions that refer to maps, global data or externs.
    pub relocs: Vec<InsnReloc>,
    /// `func_info` with `insn_off` as instruction indexes (empty without `.BTF.ext`).
    pub func_info: Vec<FuncInfo>,
    /// `line_info` with `insn_off` as instruction indexes.
    pub line_info: Vec<LineInfo>,
    /// CO-RE relocations with `insn_off` as instruction indexes.
    pub core_relos: Vec<CoreRelo>,
    /// Where each linked function starts: (instruction index, function name).
    pub functions: Vec<(usize, String)>,
    /// The function symbol is global (static programs are allowed, as in libbpf).
    pub global: bool,
    /// Load it with the object (false: skipped).
    pub autoload: bool,
}

impl Program {
    /// The instructions to load, with every map reference bound: `fd_of(map index)` gives the
    /// fd of each map of the object (`None`: the map was not created). Map loads become
    /// `BPF_PSEUDO_MAP_FD` and global data addresses `BPF_PSEUDO_MAP_VALUE` with the offset in the
    /// second slot, as the kernel expects. Externs are left to the caller: their instructions
    /// are listed in `unresolved`, and the load must not happen until they are bound.
    pub fn bind_maps(&self, fd_of: impl Fn(usize) -> Option<i32>) -> Result<BoundInsns> {
        let mut insns = self.insns.clone();
        let mut unresolved = Vec::new();
        for reloc in &self.relocs {
            let too_short = || {
                ObjError::program(
                    &self.name,
                    format!("relocated ld_imm64 at instruction {} has no second slot", reloc.insn),
                )
            };
            match &reloc.target {
                RelocTarget::Map { map } | RelocTarget::MapValue { map, .. } => {
                    let fd = fd_of(*map).ok_or_else(|| {
                        ObjError::program(
                            &self.name,
                            format!("uses map #{map}, which was not created (autocreate off?)"),
                        )
                    })?;
                    if insns.get(reloc.insn + 1).is_none() || insns[reloc.insn].code != crate::insn::LD_IMM64 {
                        return Err(too_short());
                    }
                    let (src, offset) = match &reloc.target {
                        RelocTarget::MapValue { offset, .. } => (PSEUDO_MAP_VALUE, *offset as i32),
                        _ => (PSEUDO_MAP_FD, 0),
                    };
                    insns[reloc.insn].src = src;
                    insns[reloc.insn].imm = fd;
                    insns[reloc.insn + 1].imm = offset;
                }
                RelocTarget::Extern { name, .. } => unresolved.push((reloc.insn, name.clone())),
            }
        }
        Ok(BoundInsns { insns, unresolved_externs: unresolved })
    }
}

/// Instructions with maps bound (see [`Program::bind_maps`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundInsns {
    /// The instructions.
    pub insns: Vec<Insn>,
    /// Instructions still referring to externs: (instruction index, symbol).
    pub unresolved_externs: Vec<(usize, String)>,
}
