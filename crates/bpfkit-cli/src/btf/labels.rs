//! bpftool's words for BTF values (linkage, encodings, anonymous names), shared by text and JSON.

use bpfkit_btf::{Btf, IntEncoding, linkage};

/// `static`, `global` or `extern` for a FUNC's or VAR's linkage.
pub fn linkage(l: u32) -> &'static str {
    match l {
        linkage::STATIC => "static",
        linkage::GLOBAL => "global",
        linkage::EXTERN => "extern",
        _ => "(unknown)",
    }
}

/// An INT's encoding; like bpftool, a combination of flags (invalid BTF) is `UNKN`.
pub fn int_encoding(enc: IntEncoding) -> &'static str {
    match enc {
        IntEncoding::NONE => "(none)",
        IntEncoding::SIGNED => "SIGNED",
        IntEncoding::CHAR => "CHAR",
        IntEncoding::BOOL => "BOOL",
        _ => "UNKN",
    }
}

/// An ENUM's or ENUM64's signedness (its kind flag).
pub fn enum_encoding(signed: bool) -> &'static str {
    if signed { "SIGNED" } else { "UNSIGNED" }
}

/// A FWD's target.
pub fn fwd_kind(is_union: bool) -> &'static str {
    if is_union { "union" } else { "struct" }
}

/// The name at `off` for text output: `(anon)` when empty, `(invalid)` past the strings (which
/// validation rules out; kept so that output never fails on a name).
pub fn display_name(btf: &Btf, off: u32) -> &[u8] {
    match btf.str_bytes_at(off) {
        Ok(b"") => b"(anon)",
        Ok(name) => name,
        Err(_) => b"(invalid)",
    }
}
