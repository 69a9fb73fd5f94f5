//! Flavours: `struct task_struct___old` in an object is a local definition of (a variant of)
//! the kernel's `struct task_struct`. The *essential* name drops the last `___suffix`, where
//! `___` is preceded and followed by something other than `_`, and candidates match when the
//! essential names are equal. The rule lives in `bpfkit-btf`, which also finds a blob's
//! flavoured types once ([`bpfkit_btf::Btf::flavoured_types`]).

pub use bpfkit_btf::{essential_name, same_essential};
