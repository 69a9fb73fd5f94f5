//! `bpfkit-obj`: the object model of BPF ELF files written against libbpf's conventions, with
//! no syscalls: programs classified by `SEC()` name and linked with their subprograms on demand, maps from
//! `.maps` (BTF-defined), the legacy `maps` section, global data sections and struct_ops
//! variables, relocations resolved to maps, data offsets and externs, and `.BTF.ext` records.
//! The `bpfkit` crate loads what this crate prepares.
//!
//! ```no_run
//! let mut obj = bpfkit_obj::Object::open("bpf/minimal.bpf.o")?;
//! obj.set_global("target_tgid", &1234u32.to_ne_bytes())?;
//! for (i, prog) in obj.programs.iter().enumerate() {
//!     let linked = obj.link(i)?;
//!     println!("{} in SEC(\"{}\"): {} instructions", prog.name, prog.section, linked.insns.len());
//! }
//! # Ok::<(), bpfkit_obj::ObjError>(())
//! ```
#![warn(missing_docs)]

mod btf_ext;
mod btf_fixup;
mod btf_map;
pub mod core;
mod datasecs;
mod error;
mod externs;
pub mod insn;
mod kernel_name;
mod kernel_types;
mod linker;
mod map;
mod map_places;
mod object;
mod program;
mod reloc;
mod resize;
mod section;
mod sort;
mod struct_ops;

pub use bpfkit_btf::Endian;
pub use btf_ext::{BtfExt, CoreRelo, ExtSection, FuncInfo, LineInfo};
pub use error::{ObjError, Result};
pub use externs::{Extern, ExternKind, KCONFIG_SECTION, KSYMS_SECTION};
pub use insn::Insn;
pub use kernel_name::{KERNEL_NAME_LEN, KernelName};
pub use kernel_types::{AttachType, MapType, ProgramType};
pub use map::{
    BPF_F_MMAPABLE, BPF_F_RDONLY_PROG, DataKind, Map, MapDef, MapKind, OpsFunc, Pinning, SlotInit, ring_buffer_size,
};
pub use object::{ARENA_SECTION, GlobalVar, Object};
pub use program::{BoundInsns, LinkedProgram, Program};
pub use reloc::{InsnReloc, RelocTarget};
pub use section::{AttachTarget, ProgramSection};
