//! Fuzzes the BTF parser: the input as base BTF, and split in two (first byte picks the cut) as
//! base + split. Every query runs on every type of a valid parse; none may panic or hang.
#![no_main]

use std::sync::Arc;

use bpfkit_btf::{Btf, BtfBuilder, TypeDetails};
use libfuzzer_sys::fuzz_target;

fn exercise(btf: &Btf) {
    for id in 0..btf.type_count() + 2 {
        let Ok(ty) = btf.type_by_id(id) else { continue };
        let _ = (btf.resolve(id), btf.size_of(id), btf.align_of(id), btf.kind_of(id));
        if let TypeDetails::Struct(ms) | TypeDetails::Union(ms) = ty.details() {
            for m in ms {
                if let Ok(name) = btf.str_at(m.name_off) {
                    let _ = btf.find_member(id, name);
                }
            }
        }
        if let Ok(name) = ty.name() {
            let _ = btf.find_by_name_kind(name, ty.kind());
            let _ = btf.find_all_by_name(name);
        }
    }
    // Re-encoding normalises the section layout; the records must survive it unchanged.
    if let Ok(bytes) = BtfBuilder::from_btf(btf).encode() {
        let again = match btf.base() {
            Some(base) => Btf::parse_split(bytes, base.clone()),
            None => Btf::parse(bytes),
        };
        let again = again.expect("a re-encoded valid parse parses");
        assert!(btf.types().map(|t| t.to_record()).eq(again.types().map(|t| t.to_record())));
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(btf) = Btf::parse(data.to_vec()) {
        exercise(&btf);
    }
    if let Some((&cut, rest)) = data.split_first() {
        let cut = (cut as usize * rest.len() / 255).min(rest.len());
        if let Ok(base) = Btf::parse(rest[..cut].to_vec()) {
            if let Ok(split) = Btf::parse_split(rest[cut..].to_vec(), Arc::new(base)) {
                exercise(&split);
            }
        }
    }
});
