//! `bpfkit-btf`: the BPF Type Format of Linux, parsed zero-copy, for vmlinux and kernel modules.
//!
//! BTF describes the kernel's types (structs, functions, variables) and is how BPF programs
//! find fields and functions portably (CO-RE, kfuncs, struct_ops). A kernel exposes its own BTF
//! at `/sys/kernel/btf/vmlinux` and each module's as *split* BTF at `/sys/kernel/btf/<module>`,
//! whose type ids continue where vmlinux's end.
//!
//! * [`Btf`] parses and validates a blob (raw or an ELF `.BTF` section) without copying it;
//!   [`Btf::parse_split`] layers a module on its base. Lookups: [`Btf::type_by_id`],
//!   [`Btf::find_by_name_kind`], [`Btf::resolve`], [`Btf::size_of`], [`Btf::find_member`].
//! * [`Type`] is a typed view of one record; [`TypeDetails`] its kind-specific data.
//! * [`BtfBuilder`] writes BTF, and re-encodes a parsed blob byte for byte.
//! * [`ModuleFile`] reads kernel module files (plain, xz, zstd, gzip). [`relocate()`] moves a
//!   module's split BTF from its distilled base (`.BTF.base`) onto a real vmlinux with the
//!   kernel's rules; [`distill()`] makes such a base for any split BTF. [`Equivalence`] compares
//!   types of two blobs structurally.
//! * [`c_header`] prints BTF as a C header (`vmlinux.h`), interchangeable with bpftool's.
//!
//! Nothing here makes syscalls; kernel interaction lives in the `bpfkit` crate.
//!
//! ```no_run
//! use std::sync::Arc;
//! use bpfkit_btf::{Btf, Kind};
//! let vmlinux = Arc::new(Btf::open("/sys/kernel/btf/vmlinux", None)?);
//! let task = vmlinux.find_by_name_kind("task_struct", Kind::Struct).expect("task_struct");
//! let pid = vmlinux.find_member(task, "pid")?.expect("pid member");
//! println!("task_struct.pid at byte {}", pid.bit_offset / 8);
//! // A module's BTF shares vmlinux's types and strings:
//! let btrfs = Btf::open("/sys/kernel/btf/btrfs", Some(vmlinux.clone()))?;
//! println!("{:?}", btrfs.find_by_name_kind("btrfs_inode", Kind::Struct));
//! # Ok::<(), bpfkit_btf::BtfError>(())
//! ```

#![forbid(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod btf;
mod builder;
mod bytes;
pub mod c_header;
mod distill;
pub mod elf;
mod endian;
mod equiv;
mod error;
mod flavour;
pub mod gzip;
mod header;
mod kind;
mod layout;
mod module_file;
mod names;
mod record_offsets;
mod record_refs;
mod relocate;
mod resolve;
mod text;
mod types;
mod validate;

pub use btf::Btf;
pub use builder::{BtfBuilder, MemberSpec, RecordData, TypeRecord};
pub use bytes::BtfBytes;
pub use distill::{DistillError, Distilled, distill};
pub use endian::Endian;
pub use equiv::Equivalence;
pub use error::{BtfError, HeaderFault, Result, TypeFault};
pub use flavour::{essential_name, same_essential};
pub use header::Header;
pub use kind::{Info, Kind};
pub use layout::{KindLayout, Layout};
pub use module_file::{Compression, MAX_MODULE_SIZE, ModuleFile, decompress};
pub use names::NameIndexKind;
pub use relocate::{DistilledType, RelocateError, Relocation, relocate};
pub use resolve::{FoundMember, MAX_NESTING_DEPTH, MAX_RESOLVE_DEPTH};
pub use text::identifier_str;
pub use types::{
    ArrayInfo, Elements, Enumerator, Enumerator64, IntEncoding, IntInfo, Member, Param, Type, TypeDetails, VarSecinfo,
    VlenElement, linkage,
};

/// A BTF type id. 0 is `void`; ids are only meaningful together with the [`Btf`] they belong
/// to (module ids overlap each other).
pub type TypeId = u32;
