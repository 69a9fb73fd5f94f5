//! One check of distilled-base relocation on arbitrary bytes, shared by the `distilled` fuzz
//! target and `tests/malformed_distilled.rs`.
//!
//! Input layout: a little-endian `u32` length `n`, then `n` bytes of distilled base BTF, then the
//! split BTF. Both are parsed; the split is then relocated onto a second parse of the same
//! distilled base (so that every distilled type has its counterpart and the whole rewrite runs)
//! and onto `target`, and distilled again. None of it may panic; a relocation either fails with
//! an error or yields split BTF whose every reference resolves.

#![allow(dead_code)]

use std::sync::Arc;

use bpfkit_btf::{Btf, BtfError, distill, relocate};

/// Builds an input from its two parts.
pub fn encode(base: &[u8], split: &[u8]) -> Vec<u8> {
    let mut out = (base.len() as u32).to_le_bytes().to_vec();
    out.extend_from_slice(base);
    out.extend_from_slice(split);
    out
}

/// What happened, for tests that want to see that mutations reach each stage.
#[derive(Debug, Default, Clone, Copy)]
pub struct Reached {
    /// Both parts parsed.
    pub parsed: bool,
    /// Relocation onto the base's copy succeeded.
    pub relocated: bool,
    /// Relocation failed with a relocation error (unmatched, ambiguous, bad distilled type...).
    pub refused: bool,
}

fn check_relocated(split: &Btf, onto: &Arc<Btf>) -> Result<(), BtfError> {
    let r = relocate(split, onto.clone())?;
    let btf = r.btf();
    assert_eq!(btf.own_type_count(), split.own_type_count());
    assert_eq!(btf.first_id(), onto.type_count());
    for t in btf.types() {
        let record = t.to_record();
        for id in record.data.type_ids() {
            assert!(id == 0 || btf.type_by_id(id).is_ok(), "relocated [{}] refers to missing [{id}]", t.id());
        }
        let _ = t.name().map_err(|e| e.to_string());
    }
    if let Some(d) = split.base() {
        for id in 1..d.type_count() {
            let to = r.base_id_of(id).expect("every distilled type is mapped");
            assert!(to < onto.type_count());
        }
    }
    Ok(())
}

/// Runs the check on `data`; `target` is a second, unrelated base to relocate onto.
pub fn check(data: &[u8], target: &Arc<Btf>) -> Reached {
    let mut reached = Reached::default();
    let Some((len, rest)) = data.split_first_chunk::<4>() else { return reached };
    let len = (u32::from_le_bytes(*len) as usize).min(rest.len());
    let (base_bytes, split_bytes) = rest.split_at(len);
    let (Ok(base), Ok(copy)) = (Btf::parse(base_bytes.to_vec()), Btf::parse(base_bytes.to_vec())) else {
        return reached;
    };
    let (base, copy) = (Arc::new(base), Arc::new(copy));
    let Ok(split) = Btf::parse_split(split_bytes.to_vec(), base.clone()) else { return reached };
    reached.parsed = true;
    for onto in [&copy, target] {
        match check_relocated(&split, onto) {
            Ok(()) => reached.relocated |= Arc::ptr_eq(onto, &copy),
            Err(e @ BtfError::Relocate(_)) => {
                assert!(!e.to_string().is_empty());
                reached.refused = true;
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
    if let Ok(d) = distill(&split) {
        assert!(d.split.own_type_count() >= split.own_type_count());
        let _ = relocate(&d.split, base.clone()).map(|r| r.distilled_count());
    }
    reached
}
