//! Fuzzes the BTF parser: the input as base BTF, and split in two (the first byte picks the cut)
//! as base + split. Every query runs on every type of a valid parse; none may panic or hang, and
//! the answers must agree with each other (same checks as `tests/malformed.rs`).
#![no_main]

use std::sync::Arc;

use bpfkit_btf::{Btf, BtfBuilder, BtfError, Kind, TypeDetails, TypeFault};
use libfuzzer_sys::fuzz_target;

/// A parse error is one of the parse errors, located inside the blob.
fn check_error(e: &BtfError, len: usize) {
    let _ = e.to_string();
    match e {
        BtfError::BadType { offset, fault, .. } => {
            assert!(*offset < len, "{e}");
            if let TypeFault::Invalid(msg) = fault {
                assert!(!msg.contains("bug"), "{e}");
            }
        }
        BtfError::TooShort { .. }
        | BtfError::BadMagic { .. }
        | BtfError::UnsupportedVersion(_)
        | BtfError::BadHeader { .. }
        | BtfError::SectionOutOfBounds { .. }
        | BtfError::SectionsOverlap { .. }
        | BtfError::BadStrings { .. }
        | BtfError::BadLayout { .. }
        | BtfError::EndiannessMismatch => {}
        other => panic!("unexpected parse error {other:?}"),
    }
}

fn query_error_ok(e: &BtfError) -> bool {
    matches!(e, BtfError::TooDeep { .. } | BtfError::WrongKind { .. } | BtfError::SizeOverflow { .. })
}

fn exercise(btf: &Btf) {
    let count = btf.type_count();
    for id in [0, count, count.saturating_add(1), u32::MAX] {
        assert!(matches!(btf.type_by_id(id), Err(BtfError::IdOutOfRange { .. })));
        let _ = (btf.resolve(id), btf.size_of(id), btf.align_of(id), btf.find_member(id, "x"), btf.kind_of(id));
    }
    for id in 1..count {
        let ty = btf.type_by_id(id).expect("ids below type_count exist");
        assert_eq!(ty.id(), id);
        let kind = ty.kind();
        assert_eq!(btf.kind_of(id), Some(kind));
        let _ = (ty.size(), ty.ref_type(), ty.kind_flag(), format!("{ty:?}"));
        let mut member_names = Vec::new();
        match ty.details() {
            TypeDetails::Struct(ms) | TypeDetails::Union(ms) => {
                assert_eq!(ms.len(), ty.vlen() as usize);
                for m in ms {
                    let _ = (m.bit_offset(), m.bitfield_size());
                    if let Ok(name) = btf.str_at(m.name_off) {
                        member_names.push(name);
                    }
                }
            }
            TypeDetails::Enum(es) => assert_eq!(es.inspect(|e| _ = e.value()).count(), ty.vlen() as usize),
            TypeDetails::Enum64(es) => assert_eq!(es.inspect(|e| _ = e.value()).count(), ty.vlen() as usize),
            TypeDetails::FuncProto { params, .. } => assert_eq!(params.count(), ty.vlen() as usize),
            TypeDetails::Datasec(vs) => assert_eq!(vs.count(), ty.vlen() as usize),
            TypeDetails::Unknown { kind: k, payload } => {
                assert_eq!(Kind::Unknown(k), kind);
                assert_eq!(payload.len() + 12, ty.record().len());
            }
            _ => {}
        }
        match btf.resolve(id) {
            Ok(r) => assert!(r < count && btf.resolve(r).ok() == Some(r)),
            Err(e) => assert!(matches!(e, BtfError::TooDeep { .. }), "{e:?}"),
        }
        if let Err(e) = btf.skip_modifiers(id) {
            assert!(matches!(e, BtfError::TooDeep { .. }), "{e:?}");
        }
        match btf.size_of(id) {
            Ok(size) => {
                if let Some(s) = ty.size() {
                    assert_eq!(size, s as u64);
                }
            }
            Err(e) => assert!(query_error_ok(&e), "size_of: {e:?}"),
        }
        match btf.align_of(id) {
            Ok(a) => assert!(a >= 1),
            Err(e) => assert!(query_error_ok(&e), "align_of: {e:?}"),
        }
        for name in member_names {
            match btf.find_member(id, name) {
                Ok(Some(_)) => {}
                Ok(None) => panic!("find_member({id}, {name:?}) missed a member that is there"),
                Err(e) => assert!(matches!(e, BtfError::TooDeep { .. }), "find_member: {e:?}"),
            }
        }
        if let Ok(name) = ty.name()
            && !name.is_empty()
        {
            assert!(btf.find_all_by_name(name).contains(&id), "find_all_by_name({name:?}) misses {id}");
            assert!(btf.find_by_name_kind(name, kind).is_some_and(|f| f <= id));
        }
    }
    // Flavoured types: exactly the own types whose name has a `___suffix`.
    let flavoured: Vec<u32> = (btf.first_id()..btf.type_count())
        .filter(|&id| btf.type_by_id(id).and_then(|t| t.name()).is_ok_and(|n| bpfkit_btf::essential_name(n) != n))
        .collect();
    assert_eq!(btf.flavoured_types(), flavoured.as_slice(), "flavoured types");
    let _ = (btf.is_sorted_by_name(), btf.pointer_size(), btf.layout());
    // Re-encoding normalises the section layout; the records must survive it unchanged.
    let bytes = BtfBuilder::from_btf(btf).encode().expect("encode a valid parse");
    let again = match btf.base() {
        Some(base) => Btf::parse_split(bytes, base.clone()),
        None => Btf::parse(bytes),
    };
    let again = again.expect("a re-encoded valid parse parses");
    assert!(btf.types().map(|t| t.to_record()).eq(again.types().map(|t| t.to_record())));
}

fuzz_target!(|data: &[u8]| {
    match Btf::parse(data.to_vec()) {
        Ok(btf) => exercise(&btf),
        Err(e) => check_error(&e, data.len()),
    }
    if let Some((&cut, rest)) = data.split_first() {
        let cut = cut as usize * rest.len() / 255;
        if let Ok(base) = Btf::parse(rest[..cut].to_vec()) {
            match Btf::parse_split(rest[cut..].to_vec(), Arc::new(base)) {
                Ok(split) => exercise(&split),
                Err(e) => check_error(&e, rest.len() - cut),
            }
        }
    }
});
