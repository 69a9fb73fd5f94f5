//! BTF built with the writer, covering every kind, both byte orders and split chains, checked
//! through every query.

use std::sync::Arc;

use bpfkit_btf::{
    Btf, BtfBuilder, BtfError, Endian, IntEncoding, Kind, MemberSpec, NameIndexKind, TypeDetails, VarSecinfo, linkage,
};

/// Ids of the interesting types in [`rich`].
struct Ids {
    int: u32,
    uchar: u32,
    ptr: u32,
    arr: u32,
    flags: u32,
    inner: u32,
    outer: u32,
    un: u32,
    en: u32,
    en64: u32,
    fwd: u32,
    td: u32,
    cv: u32,
    proto: u32,
    func: u32,
    var: u32,
    sec: u32,
    float: u32,
    decl: u32,
    tag: u32,
    restrict: u32,
}

/// One of every kind, with a bitfield struct and an anonymous nested union.
fn rich(endian: Endian) -> (BtfBuilder, Ids) {
    let mut b = BtfBuilder::new();
    b.set_endian(endian);
    let int = b.add_int("int", 4, IntEncoding::SIGNED);
    let uchar = b.add_int("unsigned char", 1, IntEncoding::NONE);
    let ptr = b.add_ptr(int);
    let arr = b.add_array(uchar, int, 16);
    let flags = b.add_struct(
        "flags",
        4,
        &[MemberSpec::bitfield("a", int, 0, 3), MemberSpec::bitfield("b", int, 3, 5), MemberSpec::new("c", uchar, 1)],
    );
    let inner = b.add_union("", 8, &[MemberSpec::new("as_int", int, 0), MemberSpec::new("as_ptr", ptr, 0)]);
    let outer = b.add_struct(
        "outer",
        40,
        &[MemberSpec::new("x", int, 0), MemberSpec::new("", inner, 8), MemberSpec::new("name", arr, 16)],
    );
    let un = b.add_union("u", 8, &[MemberSpec::new("i", int, 0), MemberSpec::new("p", ptr, 0)]);
    let en = b.add_enum("color", 4, true, &[("RED", -1), ("GREEN", 7)]);
    let en64 = b.add_enum64("big", 8, false, &[("HUGE", 0x1_0000_0002)]);
    let fwd = b.add_fwd("opaque", true);
    let td = b.add_typedef("outer_t", outer);
    let cv = b.add_volatile(td);
    let cv = b.add_const(cv);
    let proto = b.add_func_proto(int, &[("o", ptr), ("n", int)]);
    let func = b.add_func("do_it", proto, linkage::GLOBAL);
    let var = b.add_var("counter", int, linkage::GLOBAL);
    let sec = b.add_datasec(".data", 4, &[VarSecinfo { ty: var, offset: 0, size: 4 }]);
    let float = b.add_float("double", 8);
    let decl = b.add_decl_tag("kfunc", func, -1);
    let tag = b.add_type_tag("rcu", int);
    let restrict = b.add_restrict(ptr);
    let ids = Ids {
        int,
        uchar,
        ptr,
        arr,
        flags,
        inner,
        outer,
        un,
        en,
        en64,
        fwd,
        td,
        cv,
        proto,
        func,
        var,
        sec,
        float,
        decl,
        tag,
        restrict,
    };
    (b, ids)
}

fn parse(b: &BtfBuilder) -> Btf {
    Btf::parse(b.encode().expect("encode")).expect("parse")
}

#[test]
fn every_kind_reads_back() {
    for endian in [Endian::Little, Endian::Big] {
        let (b, ids) = rich(endian);
        let btf = parse(&b);
        assert_eq!(btf.endian(), endian);
        assert_eq!(btf.type_count(), ids.restrict + 1);
        let kind = |id| btf.type_by_id(id).unwrap().kind();
        assert_eq!(kind(ids.int), Kind::Int);
        assert_eq!(kind(ids.sec), Kind::Datasec);
        match btf.type_by_id(ids.int).unwrap().details() {
            TypeDetails::Int(i) => {
                assert!(i.encoding().is_signed());
                assert_eq!(i.bits(), 32);
            }
            other => panic!("{other:?}"),
        }
        match btf.type_by_id(ids.arr).unwrap().details() {
            TypeDetails::Array(a) => assert_eq!((a.elem_type, a.index_type, a.nelems), (ids.uchar, ids.int, 16)),
            other => panic!("{other:?}"),
        }
        let flags = btf.type_by_id(ids.flags).unwrap();
        assert!(flags.kind_flag());
        let m: Vec<_> = flags.members().map(|m| (m.bit_offset(), m.bitfield_size())).collect();
        assert_eq!(m, [(0, 3), (3, 5), (8, 0)]);
        match btf.type_by_id(ids.en).unwrap().details() {
            TypeDetails::Enum(mut e) => {
                let red = e.next().unwrap();
                assert_eq!((btf.str_at(red.name_off).unwrap(), red.value()), ("RED", -1));
                assert_eq!(e.next().unwrap().value(), 7);
                assert!(e.next().is_none());
            }
            other => panic!("{other:?}"),
        }
        match btf.type_by_id(ids.en64).unwrap().details() {
            TypeDetails::Enum64(e) => assert_eq!(e.get(0).unwrap().raw_value(), 0x1_0000_0002),
            other => panic!("{other:?}"),
        }
        assert!(matches!(btf.type_by_id(ids.fwd).unwrap().details(), TypeDetails::Fwd { is_union: true }));
        match btf.type_by_id(ids.proto).unwrap().details() {
            TypeDetails::FuncProto { ret, params } => {
                assert_eq!(ret, ids.int);
                let p: Vec<_> = params.map(|p| (btf.str_at(p.name_off).unwrap().to_string(), p.ty)).collect();
                assert_eq!(p, [("o".to_string(), ids.ptr), ("n".to_string(), ids.int)]);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            btf.type_by_id(ids.func).unwrap().details(),
            TypeDetails::Func { proto, linkage: linkage::GLOBAL } if proto == ids.proto
        ));
        assert!(
            matches!(btf.type_by_id(ids.var).unwrap().details(), TypeDetails::Var { ty, linkage: 1 } if ty == ids.int)
        );
        match btf.type_by_id(ids.sec).unwrap().details() {
            TypeDetails::Datasec(mut v) => assert_eq!(v.next().unwrap().ty, ids.var),
            other => panic!("{other:?}"),
        }
        assert_eq!(btf.type_by_id(ids.float).unwrap().size(), Some(8));
        assert!(matches!(
            btf.type_by_id(ids.decl).unwrap().details(),
            TypeDetails::DeclTag { ty, component_idx: -1 } if ty == ids.func
        ));
        assert_eq!(btf.type_by_id(ids.tag).unwrap().name().unwrap(), "rcu");
        assert_eq!(btf.type_by_id(ids.restrict).unwrap().ref_type(), Some(ids.ptr));
        assert_eq!(btf.type_by_id(ids.un).unwrap().members().len(), 2);
        assert!(matches!(btf.type_by_id(0), Err(BtfError::IdOutOfRange { id: 0, .. })));
        assert!(matches!(btf.type_by_id(ids.restrict + 1), Err(BtfError::IdOutOfRange { .. })));
    }
}

#[test]
fn both_byte_orders_decode_to_the_same_records() {
    let little = parse(&rich(Endian::Little).0);
    let big = parse(&rich(Endian::Big).0);
    assert_ne!(little.raw_bytes(), big.raw_bytes());
    let l: Vec<_> = little.types().map(|t| t.to_record()).collect();
    let b: Vec<_> = big.types().map(|t| t.to_record()).collect();
    assert_eq!(l, b);
    // Converting a parsed blob to the other byte order and back is lossless.
    let mut swapped = BtfBuilder::from_btf(&little);
    swapped.set_endian(Endian::Big);
    assert_eq!(swapped.encode().unwrap(), big.raw_bytes());
}

#[test]
fn round_trip_is_byte_exact() {
    for endian in [Endian::Little, Endian::Big] {
        let bytes = rich(endian).0.encode().unwrap();
        let btf = Btf::parse(bytes.clone()).unwrap();
        assert_eq!(BtfBuilder::from_btf(&btf).encode().unwrap(), bytes);
    }
}

#[test]
fn resolution_sizes_alignment_and_members() {
    let (b, ids) = rich(Endian::Little);
    let btf = parse(&b);
    assert_eq!(btf.resolve(ids.cv).unwrap(), ids.outer);
    assert_eq!(btf.skip_modifiers(ids.cv).unwrap(), ids.td);
    assert_eq!(btf.resolve(ids.tag).unwrap(), ids.int);
    assert_eq!(btf.resolve(0).unwrap(), 0);
    // The same walks, ending in a view of the type they reach (none for void).
    assert_eq!(btf.resolve_type(ids.cv).unwrap().map(|t| t.id()), Some(ids.outer));
    assert_eq!(btf.skip_modifiers_type(ids.cv).unwrap().map(|t| (t.id(), t.kind())), Some((ids.td, Kind::Typedef)));
    assert!(btf.resolve_type(0).unwrap().is_none());
    assert_eq!(btf.size_of(ids.cv).unwrap(), 40);
    assert_eq!(btf.size_of(ids.arr).unwrap(), 16);
    assert_eq!(btf.size_of(ids.ptr).unwrap(), 8);
    assert_eq!(btf.size_of(ids.var).unwrap(), 4);
    assert!(matches!(btf.size_of(ids.func), Err(BtfError::WrongKind { .. })));
    assert!(matches!(btf.size_of(0), Err(BtfError::WrongKind { .. })));
    assert_eq!(btf.align_of(ids.outer).unwrap(), 8);
    assert_eq!(btf.align_of(ids.arr).unwrap(), 1);
    assert_eq!(btf.align_of(ids.flags).unwrap(), 4);
    // Members of the anonymous union are found through the outer struct, offsets added up.
    let found = btf.find_member(ids.td, "as_ptr").unwrap().unwrap();
    assert_eq!((found.bit_offset, found.parent, found.index), (64, ids.inner, 1));
    assert_eq!(btf.find_member(ids.outer, "name").unwrap().unwrap().bit_offset, 128);
    assert!(btf.find_member(ids.outer, "nope").unwrap().is_none());
    assert!(matches!(btf.find_member(ids.int, "x"), Err(BtfError::WrongKind { .. })));
}

#[test]
fn name_lookup_hashed_and_ambiguous() {
    let (mut b, ids) = rich(Endian::Little);
    let second = b.add_struct("outer", 1, &[]);
    let btf = parse(&b);
    assert_eq!(btf.name_index_kind(), NameIndexKind::Hashed);
    assert_eq!(btf.find_by_name_kind("outer", Kind::Struct), Some(ids.outer));
    assert_eq!(btf.find_all_by_name_kind("outer", Kind::Struct), [ids.outer, second]);
    assert_eq!(btf.find_all_by_name("outer"), [ids.outer, second]);
    assert_eq!(btf.find_by_name_kind("outer", Kind::Union), None);
    assert_eq!(btf.find_by_name_kind("outer_t", Kind::Typedef), Some(ids.td));
    assert_eq!(btf.find_by_name_kind("", Kind::Union), None);
    assert_eq!(btf.find_by_name_kind("missing", Kind::Struct), None);
}

#[test]
fn sorted_btf_is_binary_searched() {
    // Anonymous types first, then names in byte order, as 7.x kernels emit vmlinux BTF.
    let mut b = BtfBuilder::new();
    let anon_ptr = b.add_ptr(0);
    let names = ["a", "b", "b", "bb", "c", "zz"];
    let ids: Vec<u32> = names.iter().map(|n| b.add_int(n, 4, IntEncoding::NONE)).collect();
    let s = b.add_struct("zzz", 0, &[]);
    let btf = parse(&b);
    assert!(btf.is_sorted_by_name());
    assert_eq!(btf.find_all_by_name("b"), [ids[1], ids[2]]);
    assert_eq!(btf.find_by_name_kind("bb", Kind::Int), Some(ids[3]));
    assert_eq!(btf.find_by_name_kind("zzz", Kind::Struct), Some(s));
    assert_eq!(btf.find_by_name_kind("zzz", Kind::Int), None);
    assert_eq!(btf.find_by_name_kind("0", Kind::Int), None);
    assert_eq!(btf.find_by_name_kind("zzzz", Kind::Int), None);
    assert_eq!(btf.kind_of(anon_ptr), Some(Kind::Ptr));
    // One out-of-order name disables binary search; lookups stay correct.
    let mut b = BtfBuilder::new();
    b.add_int("b", 4, IntEncoding::NONE);
    let a = b.add_int("a", 4, IntEncoding::NONE);
    let btf = parse(&b);
    assert!(!btf.is_sorted_by_name());
    assert_eq!(btf.find_by_name_kind("a", Kind::Int), Some(a));
}

/// The lowest id named `name` of kind `kind`, by looking at every type.
fn brute_force(btf: &Btf, name: &str, kind: Kind) -> Option<u32> {
    (1..btf.type_count())
        .find(|&id| btf.type_by_id(id).is_ok_and(|t| t.kind() == kind && t.name().is_ok_and(|n| n == name)))
}

#[test]
fn lookups_agree_while_scanning_and_after_indexing() {
    // Unsorted, with a struct and a typedef sharing each name and some names repeated: the
    // first lookups scan, and once the scans have cost a pass over the types, an index answers.
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, IntEncoding::SIGNED);
    let name = |i: u32| format!("s{}", i.wrapping_mul(2_654_435_761) % 100_000);
    for i in 0..1500 {
        b.add_struct(&name(i), 4, &[MemberSpec::new("x", int, 0)]);
        b.add_typedef(&name(i), int);
    }
    for i in (0..1500).step_by(7) {
        b.add_struct(&name(i), 8, &[]);
    }
    let btf = parse(&b);
    assert_eq!(btf.name_index_kind(), NameIndexKind::Hashed);
    for round in 0..3 {
        // Ascending first: the early names are cheap to scan for, so a few dozen lookups scan
        // before the budget runs out; later rounds meet the index.
        let order: Vec<u32> = if round == 0 { (0..1600).collect() } else { (0..1600).rev().collect() };
        for i in order {
            let n = name(i);
            for kind in [Kind::Struct, Kind::Typedef, Kind::Union] {
                assert_eq!(btf.find_by_name_kind(&n, kind), brute_force(&btf, &n, kind), "round {round}: {n} {kind:?}");
            }
        }
        let all = btf.find_all_by_name_kind(&name(7), Kind::Struct);
        assert_eq!(all.len(), 2, "the repeated struct is found twice");
    }
}

#[test]
fn sorted_runs_sharing_a_long_prefix_are_searched_whole() {
    // Names agreeing in their first 16 bytes order only by what follows; within such a run the
    // lookup compares every name, so even a producer that got the run's order wrong is served.
    let mut b = BtfBuilder::new();
    b.add_ptr(0);
    let names = ["a", "trace_event_raw_c", "trace_event_raw_a", "trace_event_raw_b", "trace_event_raw_", "z"];
    let ids: Vec<u32> = names.iter().map(|n| b.add_struct(n, 0, &[])).collect();
    let btf = parse(&b);
    assert_eq!(btf.name_index_kind(), NameIndexKind::SortedByName);
    for (n, id) in names.iter().zip(&ids) {
        assert_eq!(btf.find_by_name_kind(n, Kind::Struct), Some(*id), "{n}");
        assert_eq!(btf.find_all_by_name(n), [*id], "{n}");
    }
    assert_eq!(btf.find_by_name_kind("trace_event_raw_d", Kind::Struct), None);
    assert_eq!(btf.find_by_name_kind("trace_event_raw", Kind::Struct), None);
}

#[test]
fn split_and_split_of_split_share_ids_and_strings() {
    let (b, ids) = rich(Endian::Little);
    let base = Arc::new(parse(&b));
    let mut m = BtfBuilder::new_split(&base);
    assert_eq!(m.next_id(), base.type_count());
    let mod_struct = m.add_struct("mod_only", 8, &[MemberSpec::new("o", ids.ptr, 0)]);
    // Reusing a base string: "int" resolves through the base's string section.
    let own_int = m.add_int("int", 8, IntEncoding::SIGNED);
    let module = Arc::new(Btf::parse_split(m.encode().unwrap(), base.clone()).unwrap());
    assert!(module.is_split());
    assert_eq!(module.first_id(), base.type_count());
    assert_eq!(module.own_type_count(), 2);
    assert_eq!(module.type_by_id(ids.outer).unwrap().name().unwrap(), "outer");
    assert_eq!(module.type_by_id(mod_struct).unwrap().name().unwrap(), "mod_only");
    assert_eq!(module.find_by_name_kind("mod_only", Kind::Struct), Some(mod_struct));
    assert_eq!(module.find_all_by_name_kind("int", Kind::Int), [ids.int, own_int]);
    assert_eq!(module.find_own_by_name_kind("int", Kind::Int), Some(own_int));
    assert_eq!(module.find_own_by_name_kind("outer", Kind::Struct), None);
    assert_eq!(module.size_of(mod_struct).unwrap(), 8);
    assert_eq!(module.find_member(mod_struct, "o").unwrap().unwrap().member.ty, ids.ptr);
    assert_eq!(base.find_by_name_kind("mod_only", Kind::Struct), None);
    assert_eq!(BtfBuilder::from_btf(&module).encode().unwrap(), module.raw_bytes());

    // A second module on the same base reuses the same ids for different types.
    let mut other = BtfBuilder::new_split(&base);
    let other_struct = other.add_struct("other_only", 4, &[]);
    let other = Btf::parse_split(other.encode().unwrap(), base.clone()).unwrap();
    assert_eq!(other_struct, mod_struct);
    assert_eq!(other.type_by_id(other_struct).unwrap().name().unwrap(), "other_only");
    assert_eq!(other.find_by_name_kind("mod_only", Kind::Struct), None);

    // Split of split: ids and strings continue after the module's.
    let mut ss = BtfBuilder::new_split(&module);
    let deep = ss.add_typedef("deep_t", mod_struct);
    let deep_btf = Btf::parse_split(ss.encode().unwrap(), module.clone()).unwrap();
    assert_eq!(deep, module.type_count());
    assert_eq!(deep_btf.resolve(deep).unwrap(), mod_struct);
    assert_eq!(deep_btf.find_by_name_kind("outer_t", Kind::Typedef), Some(ids.td));
    assert_eq!(deep_btf.size_of(deep).unwrap(), 8);
    assert_eq!(deep_btf.owner_of(ids.int).map(|b| b.first_id()), Some(1));

    // A split that refers past its own end is rejected with the offending id and field.
    let mut bad = BtfBuilder::new_split(&base);
    bad.add_ptr(base.type_count() + 5);
    let err = Btf::parse_split(bad.encode().unwrap(), base.clone()).unwrap_err();
    assert!(
        matches!(err, BtfError::BadType { id, fault: bpfkit_btf::TypeFault::BadTypeRef { .. }, .. } if id == base.type_count()),
        "{err}"
    );
    // Byte order must match the base's.
    let mut be = BtfBuilder::new_split(&base);
    be.set_endian(Endian::Big);
    be.add_ptr(0);
    assert!(matches!(Btf::parse_split(be.encode().unwrap(), base), Err(BtfError::EndiannessMismatch)));
}

#[test]
fn reference_cycles_end_in_errors() {
    let mut b = BtfBuilder::new();
    let next = b.next_id();
    let a = b.add_typedef("a", next + 1);
    b.add_const(a);
    let s = b.next_id();
    b.add_struct("self", 4, &[MemberSpec::new("me", s + 1, 0)]);
    b.add_array(s, 0, 2);
    let own = b.next_id();
    b.add_array(own, 0, 2);
    let btf = parse(&b);
    assert!(matches!(btf.resolve(a), Err(BtfError::TooDeep { .. })));
    // A struct's size is stored, so only an array of itself loops when sizing.
    assert_eq!(btf.size_of(s + 1).unwrap(), 8);
    assert!(matches!(btf.size_of(own), Err(BtfError::TooDeep { .. })));
    assert!(matches!(btf.align_of(s), Err(BtfError::TooDeep { .. })));
}

#[test]
fn elf_section_is_found_zero_copy() {
    // A minimal ELF64 file with one .BTF section, written by hand.
    let btf_bytes = rich(Endian::Little).0.encode().unwrap();
    let elf = minimal_elf(&btf_bytes);
    let btf = Btf::from_elf(elf.clone(), None).unwrap();
    assert_eq!(btf.raw_bytes(), &btf_bytes[..]);
    assert!(matches!(Btf::from_elf(minimal_elf_named(&btf_bytes, ".XYZ"), None), Err(BtfError::NoSection(".BTF"))));
    assert!(matches!(Btf::from_elf(b"\x7fELFjunk".to_vec(), None), Err(BtfError::Elf(_))));
}

fn minimal_elf(payload: &[u8]) -> Vec<u8> {
    minimal_elf_named(payload, ".BTF")
}

/// ELF64 LE: header, payload, .shstrtab, then 3 section headers (null, payload, shstrtab).
fn minimal_elf_named(payload: &[u8], name: &str) -> Vec<u8> {
    let mut shstr = vec![0u8];
    shstr.extend_from_slice(name.as_bytes());
    shstr.push(0);
    let shstr_name = shstr.len() as u32;
    shstr.extend_from_slice(b".shstrtab\0");
    let payload_off = 64u64;
    let shstr_off = payload_off + payload.len() as u64;
    let sh_off = (shstr_off + shstr.len() as u64).next_multiple_of(8);
    let mut f = Vec::new();
    f.extend_from_slice(b"\x7fELF\x02\x01\x01\0");
    f.extend_from_slice(&[0; 8]);
    f.extend_from_slice(&1u16.to_le_bytes()); // ET_REL
    f.extend_from_slice(&247u16.to_le_bytes()); // EM_BPF
    f.extend_from_slice(&1u32.to_le_bytes());
    f.extend_from_slice(&0u64.to_le_bytes()); // entry
    f.extend_from_slice(&0u64.to_le_bytes()); // phoff
    f.extend_from_slice(&sh_off.to_le_bytes());
    f.extend_from_slice(&0u32.to_le_bytes()); // flags
    f.extend_from_slice(&64u16.to_le_bytes()); // ehsize
    f.extend_from_slice(&0u16.to_le_bytes());
    f.extend_from_slice(&0u16.to_le_bytes());
    f.extend_from_slice(&64u16.to_le_bytes()); // shentsize
    f.extend_from_slice(&3u16.to_le_bytes()); // shnum
    f.extend_from_slice(&2u16.to_le_bytes()); // shstrndx
    f.extend_from_slice(payload);
    f.extend_from_slice(&shstr);
    f.resize(sh_off as usize, 0);
    let mut sh = |name: u32, ty: u32, off: u64, size: u64| {
        f.extend_from_slice(&name.to_le_bytes());
        f.extend_from_slice(&ty.to_le_bytes());
        f.extend_from_slice(&0u64.to_le_bytes()); // flags
        f.extend_from_slice(&0u64.to_le_bytes()); // addr
        f.extend_from_slice(&off.to_le_bytes());
        f.extend_from_slice(&size.to_le_bytes());
        f.extend_from_slice(&0u32.to_le_bytes());
        f.extend_from_slice(&0u32.to_le_bytes());
        f.extend_from_slice(&1u64.to_le_bytes());
        f.extend_from_slice(&0u64.to_le_bytes());
    };
    sh(0, 0, 0, 0);
    sh(1, 1, payload_off, payload.len() as u64);
    sh(shstr_name, 3, shstr_off, shstr.len() as u64);
    f
}
