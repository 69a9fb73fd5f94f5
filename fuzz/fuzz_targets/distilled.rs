//! Fuzzes distilled-base relocation (`.BTF.base`): the input is a distilled base and split BTF
//! on it (layout in `distilled_input.rs`), relocated onto a copy of that base and onto a small
//! fixed vmlinux-like base, then distilled again. Typed errors only, never a panic or a hang;
//! `crates/bpfkit-btf/tests/malformed_distilled.rs` is the deterministic counterpart (and writes
//! seeds, see fuzz/README.md).
#![no_main]

use std::sync::{Arc, OnceLock};

use bpfkit_btf::{Btf, BtfBuilder, IntEncoding, MemberSpec};
use libfuzzer_sys::fuzz_target;

#[path = "../../crates/bpfkit-btf/tests/common/distilled_input.rs"]
mod distilled_input;

/// A base with the names real distilled bases use most.
fn target() -> &'static Arc<Btf> {
    static TARGET: OnceLock<Arc<Btf>> = OnceLock::new();
    TARGET.get_or_init(|| {
        let mut b = BtfBuilder::new();
        let int = b.add_int("int", 4, IntEncoding::SIGNED);
        b.add_int("unsigned int", 4, IntEncoding::NONE);
        b.add_int("char", 1, IntEncoding::CHAR);
        b.add_int("long", 8, IntEncoding::SIGNED);
        b.add_struct("spinlock", 4, &[MemberSpec::new("v", int, 0)]);
        b.add_struct("list_head", 16, &[MemberSpec::new("next", int, 0)]);
        b.add_struct("device", 64, &[MemberSpec::new("x", int, 0)]);
        b.add_union("device", 8, &[MemberSpec::new("y", int, 0)]);
        b.add_fwd("file", false);
        b.add_enum("state", 4, false, &[("A", 0)]);
        Arc::new(Btf::parse(b.encode().expect("encode")).expect("parse"))
    })
}

fuzz_target!(|data: &[u8]| {
    distilled_input::check(data, target());
});
