//! A program of the object, linked: its own function followed by every subprogram it calls
//! (directly or through callbacks), with calls, BTF.ext records and relocations rebased to the
//! linked instruction stream, ready for the loader to write fds into.

use crate::btf_ext::{CoreRelo, FuncInfo, LineInfo};
use crate::insn::Insn;
use crate::reloc::InsnReloc;
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
