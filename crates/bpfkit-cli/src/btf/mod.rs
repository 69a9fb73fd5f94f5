//! `bpfkit btf ...` subcommands.

pub mod dump;
pub mod inspect;
pub mod json;
mod labels;
pub mod source;
mod text;
