//! A program of the object, and what linking makes of it: its own function followed by every
//! subprogram it calls (directly or through callbacks), with calls, BTF.ext records and
//! relocations rebased to the linked instruction stream, ready for the loader to write fds into.
//!
//! Linking happens when a program is asked for ([`crate::Object::link`]), not at open: libbpf
//! too appends subprograms at load, and an object of many programs sharing large subprograms
//! (a sched_ext scheduler) would otherwise hold one copy of them per program from open on.

use crate::btf_ext::{CoreRelo, FuncInfo, LineInfo};
use crate::error::{ObjError, Result};
use crate::insn::{Insn, PSEUDO_MAP_FD, PSEUDO_MAP_VALUE};
use crate::reloc::{InsnReloc, RelocTarget};
use crate::section::ProgramSection;

/// A program of the object: a function in a code section other than `.text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// The function's name (the kernel sees at most 15 bytes of it).
    pub name: String,
    /// The ELF section it was compiled into (its `SEC()` name).
    pub section: String,
    /// What the section name says about it; `None` for names outside libbpf's conventions,
    /// which the caller must then classify before load.
    pub kind: Option<ProgramSection>,
    /// The function symbol is global (static programs are allowed, as in libbpf).
    pub global: bool,
    /// Load it with the object (false: skipped).
    pub autoload: bool,
    /// Where its function is: (code section, function) in the object's code.
    pub(crate) origin: (usize, usize),
    /// Instructions set in place of the object's code ([`Program::replace_code`]).
    pub(crate) replaced: Option<Box<LinkedProgram>>,
}

impl Program {
    /// Whether it is a struct_ops program (`SEC("struct_ops/...")`): one implementing a member
    /// of a struct_ops map.
    pub fn is_struct_ops(&self) -> bool {
        self.kind.as_ref().is_some_and(|k| k.prog_type == crate::ProgramType::STRUCT_OPS)
    }

    /// Loads `code` instead of what the object's code links to (libbpf's
    /// `bpf_program__set_insns`): for programs generated or rewritten in user space. Its
    /// relocations and BTF.ext records are taken as given, indexed by `code.insns`.
    pub fn replace_code(&mut self, code: LinkedProgram) {
        self.replaced = Some(Box::new(code));
    }
}

/// A program linked: what the kernel loads, before maps and externs are bound.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LinkedProgram {
    /// The program's name (for error messages).
    pub name: String,
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
}

impl LinkedProgram {
    /// The instructions to load, with every map reference bound: `fd_of(map index)` gives the
    /// fd of each map of the object (`None`: the map was not created). Map loads become
    /// `BPF_PSEUDO_MAP_FD` and global data addresses `BPF_PSEUDO_MAP_VALUE` with the offset in the
    /// second slot, as the kernel expects. Externs are left to the caller: their instructions
    /// are listed in `unresolved`, and the load must not happen until they are bound.
    pub fn bind_maps(&self, fd_of: impl Fn(usize) -> Option<i32>) -> Result<BoundInsns> {
        self.bind_maps_at(|map| fd_of(map).map(|fd| (fd, 0)))
    }

    /// [`LinkedProgram::bind_maps`] for maps whose data does not start at offset 0 of their memory:
    /// `fd_of` also gives the offset of each map's data, added to every address of its data
    /// (the arena, whose `__arena` globals the loader places at its end, as libbpf does).
    pub fn bind_maps_at(&self, fd_of: impl Fn(usize) -> Option<(i32, u32)>) -> Result<BoundInsns> {
        let mut insns = self.insns.clone();
        let unresolved_externs = self.bind_into(&mut insns, fd_of)?;
        Ok(BoundInsns { insns, unresolved_externs })
    }

    /// [`LinkedProgram::bind_maps_at`] on the program's own instructions, for a loader done with
    /// their unbound form (no copy); gives the instructions still referring to externs.
    pub fn bind_maps_in_place(&mut self, fd_of: impl Fn(usize) -> Option<(i32, u32)>) -> Result<Vec<(usize, String)>> {
        let mut insns = std::mem::take(&mut self.insns);
        let unresolved = self.bind_into(&mut insns, fd_of);
        self.insns = insns;
        unresolved
    }

    fn bind_into(
        &self,
        insns: &mut [Insn],
        fd_of: impl Fn(usize) -> Option<(i32, u32)>,
    ) -> Result<Vec<(usize, String)>> {
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
                    let (fd, base) = fd_of(*map).ok_or_else(|| {
                        ObjError::program(
                            &self.name,
                            format!("uses map #{map}, which was not created (autocreate off?)"),
                        )
                    })?;
                    if insns.get(reloc.insn + 1).is_none() || insns[reloc.insn].code != crate::insn::LD_IMM64 {
                        return Err(too_short());
                    }
                    let (src, offset) = match &reloc.target {
                        // The kernel reads the second slot as an unsigned offset.
                        RelocTarget::MapValue { offset, .. } => {
                            let at = offset.checked_add(base).ok_or_else(|| {
                                ObjError::program(&self.name, format!("map #{map} offset {offset} + {base} overflows"))
                            })?;
                            (PSEUDO_MAP_VALUE, at as i32)
                        }
                        _ => (PSEUDO_MAP_FD, 0),
                    };
                    insns[reloc.insn].set_src(src);
                    insns[reloc.insn].imm = fd;
                    insns[reloc.insn + 1].imm = offset;
                }
                RelocTarget::Extern { name, .. } => unresolved.push((reloc.insn, name.clone())),
            }
        }
        Ok(unresolved)
    }
}

/// Instructions with maps bound (see [`LinkedProgram::bind_maps`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundInsns {
    /// The instructions.
    pub insns: Vec<Insn>,
    /// Instructions still referring to externs: (instruction index, symbol).
    pub unresolved_externs: Vec<(usize, String)>,
}
