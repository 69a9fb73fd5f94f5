//! What a relocated instruction of a linked program refers to. The object model resolves
//! everything that needs no kernel (calls, which map, which offset); the loader then writes fds
//! and kernel BTF ids into these instructions.

/// The target of one instruction relocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelocTarget {
    /// `ld_imm64` of a map: becomes `BPF_PSEUDO_MAP_FD` with the map's fd.
    Map {
        /// Index into [`crate::Object::maps`].
        map: usize,
    },
    /// `ld_imm64` of an address in a global data map: becomes `BPF_PSEUDO_MAP_VALUE` with the
    /// map's fd and this byte offset in the second slot.
    MapValue {
        /// Index into [`crate::Object::maps`].
        map: usize,
        /// Byte offset in the map's value.
        offset: u32,
    },
    /// A symbol the object does not define (`__ksym` variables and kfuncs, `__kconfig`).
    Extern {
        /// The symbol name.
        name: String,
        /// The instruction is a call (a kfunc) rather than an `ld_imm64` (a variable).
        call: bool,
        /// Declared `__weak`.
        weak: bool,
    },
}

/// A relocation of one instruction in a linked program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsnReloc {
    /// Instruction index in [`crate::LinkedProgram::insns`].
    pub insn: usize,
    /// What it refers to.
    pub target: RelocTarget,
}
