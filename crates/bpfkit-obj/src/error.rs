//! Why an object could not be read or prepared: every error names the section, symbol, map or
//! program involved and, where it helps, the byte offset.

use bpfkit_btf::BtfError;

/// A problem with a BPF ELF object.
#[derive(Debug, thiserror::Error)]
pub enum ObjError {
    /// The bytes are not a readable ELF file.
    #[error("not a readable ELF object: {0}")]
    Elf(String),
    /// An ELF file, but not for BPF.
    #[error("not a BPF object: ELF machine is {machine:?}, expected EM_BPF (247)")]
    NotBpf {
        /// The architecture the file is for.
        machine: String,
    },
    /// A section is malformed or cannot be used.
    #[error("section {section}: {why}")]
    Section {
        /// The section name (or `#index` when its name is unreadable).
        section: String,
        /// What is wrong.
        why: String,
    },
    /// A symbol is malformed or cannot be used.
    #[error("symbol {symbol} in section {section}: {why}")]
    Symbol {
        /// The symbol name.
        symbol: String,
        /// Its section.
        section: String,
        /// What is wrong.
        why: String,
    },
    /// A relocation cannot be applied.
    #[error("relocation in {section} at byte {offset} against {symbol}: {why}")]
    Reloc {
        /// The section whose code or data is relocated.
        section: String,
        /// Byte offset of the relocated instruction or field in that section.
        offset: u64,
        /// The symbol the relocation refers to.
        symbol: String,
        /// What is wrong.
        why: String,
    },
    /// A map definition is impossible or unsupported.
    #[error("map {map}: {why}")]
    Map {
        /// The map name.
        map: String,
        /// What is wrong.
        why: String,
    },
    /// A CO-RE relocation cannot be applied (malformed, ambiguous, or its instruction does not
    /// fit the result).
    #[error("program {program}: CO-RE relocation at instruction {insn} ({relocation}): {why}")]
    Core {
        /// The program.
        program: String,
        /// Instruction index in the linked program.
        insn: usize,
        /// The relocation: kind and local access path.
        relocation: String,
        /// What is wrong.
        why: String,
    },
    /// A program cannot be assembled (subprogram calls, BTF.ext records).
    #[error("program {program}: {why}")]
    Program {
        /// The program name.
        program: String,
        /// What is wrong.
        why: String,
    },
    /// The object's `.BTF` section is malformed.
    #[error("section .BTF: {0}")]
    Btf(#[source] BtfError),
    /// The object's `.BTF.ext` section is malformed.
    #[error("section .BTF.ext at byte {offset}: {why}")]
    BtfExt {
        /// Byte offset in `.BTF.ext`.
        offset: usize,
        /// What is wrong.
        why: String,
    },
    /// A name asked for by the caller does not exist in the object.
    #[error("no {what} named {name:?} in the object")]
    NotFound {
        /// "program", "map", "global variable", ...
        what: &'static str,
        /// The name asked for.
        name: String,
    },
    /// A value set by the caller does not fit.
    #[error("{0}")]
    Invalid(String),
}

/// The crate's result type.
pub type Result<T, E = ObjError> = std::result::Result<T, E>;

impl ObjError {
    pub(crate) fn section(section: &str, why: impl Into<String>) -> Self {
        ObjError::Section { section: section.to_owned(), why: why.into() }
    }

    pub(crate) fn map(map: &str, why: impl Into<String>) -> Self {
        ObjError::Map { map: map.to_owned(), why: why.into() }
    }

    pub(crate) fn program(program: &str, why: impl Into<String>) -> Self {
        ObjError::Program { program: program.to_owned(), why: why.into() }
    }
}
