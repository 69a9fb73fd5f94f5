//! `bpfkit btf ...` subcommands.

pub mod dump;
pub mod inspect;
pub mod source;
