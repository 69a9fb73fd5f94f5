//! `bpfkit btf ...` subcommands.

pub mod distill;
pub mod dump;
pub mod inspect;
pub mod json;
mod labels;
pub mod relocate;
pub mod source;
mod text;
