//! Distilling split BTF and relocating it onto other bases, on hand-built BTF: the kernel's
//! matching rules, the round trip, and every relocation error.

use std::sync::Arc;

use bpfkit_btf::{
    Btf, BtfBuilder, BtfError, DistillError, Equivalence, IntEncoding, Kind, MemberSpec, RelocateError, TypeId,
    distill, relocate,
};

/// Options for the base: which variant of each type it has.
#[derive(Clone, Copy, Default)]
struct BaseShape {
    padding_types: u32,
    foo_size: u32,
    bar_size: u32,
    no_bar: bool,
    second_foo: bool,
    enum64: bool,
}

fn base(shape: BaseShape) -> Arc<Btf> {
    let mut b = BtfBuilder::new();
    for i in 0..shape.padding_types {
        b.add_int(&format!("pad{i}"), 1, IntEncoding::NONE);
    }
    let int = b.add_int("int", 4, IntEncoding::SIGNED);
    let uint = b.add_int("unsigned int", 4, IntEncoding::NONE);
    b.add_typedef("u32", uint);
    let foo_size = if shape.foo_size == 0 { 4 } else { shape.foo_size };
    b.add_struct("page", foo_size, &[MemberSpec::new("a", int, 0)]);
    if !shape.no_bar {
        let bar_size = if shape.bar_size == 0 { 8 } else { shape.bar_size };
        b.add_struct("sock", bar_size, &[MemberSpec::new("x", int, 0), MemberSpec::new("y", int, 4)]);
    }
    if shape.second_foo {
        b.add_struct("page", foo_size, &[MemberSpec::new("b", int, 0)]);
    }
    if shape.enum64 {
        b.add_enum64("mode", 4, false, &[("MODE_A", 0), ("MODE_B", 1)]);
    } else {
        b.add_enum("mode", 4, false, &[("MODE_A", 0), ("MODE_B", 1)]);
    }
    b.add_fwd("opaque", false);
    Arc::new(Btf::parse(b.encode().unwrap()).unwrap())
}

fn id(btf: &Btf, name: &str, kind: Kind) -> TypeId {
    btf.find_by_name_kind(name, kind).unwrap_or_else(|| panic!("{kind} {name}"))
}

/// A module's split BTF on `base`: embeds `struct page`, points to `struct sock` and the
/// forward-declared `struct opaque`, uses the `u32` typedef, the enum and an anonymous union.
fn module(base: &Arc<Btf>) -> Btf {
    let mut b = BtfBuilder::new_split(base);
    let (int, u32_, page, sock) = (
        id(base, "int", Kind::Int),
        id(base, "u32", Kind::Typedef),
        id(base, "page", Kind::Struct),
        id(base, "sock", Kind::Struct),
    );
    let mode = base.find_by_name_kind("mode", Kind::Enum).unwrap_or_else(|| id(base, "mode", Kind::Enum64));
    let opaque = id(base, "opaque", Kind::Fwd);
    let bar_ptr = b.add_ptr(sock);
    let opaque_ptr = b.add_ptr(opaque);
    let cfoo = b.add_const(page);
    let foos = b.add_array(cfoo, int, 2);
    let anon = b.add_union("", 4, &[MemberSpec::new("i", int, 0), MemberSpec::new("u", u32_, 0)]);
    let me = b.add_struct(
        "mod_state",
        48,
        &[
            MemberSpec::new("foos", foos, 0),
            MemberSpec::new("count", u32_, 8),
            MemberSpec::new("sock", bar_ptr, 16),
            MemberSpec::new("opaque", opaque_ptr, 24),
            MemberSpec::new("mode", mode, 32),
            MemberSpec::new("", anon, 36),
        ],
    );
    let me_ptr = b.add_ptr(me);
    let proto = b.add_func_proto(int, &[("state", me_ptr)]);
    b.add_func("mod_init", proto, 1);
    Btf::parse_split(b.encode().unwrap(), base.clone()).unwrap()
}

/// Every own type of `original` is equivalent to the type at the same position of `other`.
fn assert_same_types(original: &Btf, other: &Btf) {
    assert!(other.own_type_count() >= original.own_type_count());
    let mut eq = Equivalence::new(original, other);
    for (i, t) in original.types().enumerate() {
        let o = other.first_id() + i as TypeId;
        assert!(eq.equal(t.id(), o).unwrap(), "type [{}] {:?} differs from [{o}]", t.id(), t.name());
    }
}

#[test]
fn distilled_base_holds_only_named_sized_types() {
    let vmlinux = base(BaseShape::default());
    let split = module(&vmlinux);
    let d = distill(&split).unwrap();
    let kinds: Vec<(Kind, String, Option<u32>, u32)> =
        d.base.types().map(|t| (t.kind(), t.name().unwrap().to_owned(), t.size(), t.vlen())).collect();
    assert_eq!(
        kinds,
        [
            (Kind::Int, "int".into(), Some(4), 0),
            (Kind::Int, "unsigned int".into(), Some(4), 0),
            (Kind::Struct, "page".into(), Some(4), 0),
            (Kind::Struct, "sock".into(), Some(8), 0),
            (Kind::Enum, "mode".into(), Some(4), 0),
            (Kind::Fwd, "opaque".into(), None, 0),
        ]
    );
    // The module's own types come first, then the one base type copied in (the typedef).
    assert_eq!(d.split.own_type_count(), split.own_type_count() + 1);
    let copied = d.split.type_by_id(d.split.type_count() - 1).unwrap();
    assert_eq!((copied.kind(), copied.name().unwrap()), (Kind::Typedef, "u32"));
}

#[test]
fn round_trip_onto_the_same_base_restores_every_type() {
    let vmlinux = base(BaseShape::default());
    let split = module(&vmlinux);
    let d = distill(&split).unwrap();
    let back = relocate(&d.split, vmlinux.clone()).unwrap();
    assert_eq!(back.distilled_count(), 6);
    assert_eq!(back.btf().first_id(), split.first_id());
    assert_same_types(&split, back.btf());
    // Named base types are the very same ids again.
    let page = id(&vmlinux, "page", Kind::Struct);
    assert_eq!(back.base_id_of(d.base.find_by_name_kind("page", Kind::Struct).unwrap()), Some(page));
}

#[test]
fn relocation_onto_another_kernel_follows_its_ids() {
    let built_on = base(BaseShape::default());
    let other = base(BaseShape { padding_types: 7, bar_size: 16, enum64: true, ..Default::default() });
    let d = distill(&module(&built_on)).unwrap();
    let moved = relocate(&d.split, other.clone()).unwrap().into_btf();
    // The module as it would have been built on `other` (sock only pointed to: any size).
    let native = module(&other);
    assert_same_types(&native, &moved);
    assert_eq!(moved.first_id(), other.type_count());
}

fn relocation_error(shape: BaseShape) -> RelocateError {
    let d = distill(&module(&base(BaseShape::default()))).unwrap();
    match relocate(&d.split, base(shape)) {
        Err(BtfError::Relocate(e)) => e,
        other => panic!("expected a relocation error, got {other:?}"),
    }
}

#[test]
fn a_missing_type_is_named() {
    let RelocateError::Unmatched(types) = relocation_error(BaseShape { no_bar: true, ..Default::default() }) else {
        panic!("not Unmatched")
    };
    assert_eq!(types.len(), 1);
    assert_eq!((types[0].name.as_str(), types[0].kind, types[0].embedded), ("sock", Kind::Struct, false));
    let text = RelocateError::Unmatched(types).to_string();
    assert!(text.contains("STRUCT 'sock'") && text.contains("size 8"), "{text}");
}

#[test]
fn an_embedded_type_must_keep_its_size() {
    let RelocateError::Unmatched(types) = relocation_error(BaseShape { foo_size: 12, ..Default::default() }) else {
        panic!("not Unmatched")
    };
    assert_eq!((types[0].name.as_str(), types[0].size, types[0].embedded), ("page", 4, true));
    assert!(RelocateError::Unmatched(types).to_string().contains("embedded by value"));
}

#[test]
fn two_candidates_of_the_same_size_are_ambiguous() {
    let RelocateError::Ambiguous(types) = relocation_error(BaseShape { second_foo: true, ..Default::default() }) else {
        panic!("not Ambiguous")
    };
    assert_eq!(types.len(), 1);
    assert_eq!(types[0].0.name, "page");
    assert_eq!(types[0].1.len(), 2);
}

#[test]
fn same_name_different_sizes_pick_by_size() {
    // Two `struct page`s of different sizes: the size decides.
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, IntEncoding::SIGNED);
    let big = b.add_struct("page", 16, &[MemberSpec::new("a", int, 0)]);
    let small = b.add_struct("page", 4, &[MemberSpec::new("a", int, 0)]);
    let vmlinux = Arc::new(Btf::parse(b.encode().unwrap()).unwrap());
    let mut s = BtfBuilder::new_split(&vmlinux);
    s.add_struct("holder", 4, &[MemberSpec::new("f", small, 0)]);
    let split = Btf::parse_split(s.encode().unwrap(), vmlinux.clone()).unwrap();
    let d = distill(&split).unwrap();
    let back = relocate(&d.split, vmlinux.clone()).unwrap();
    let holder = back.btf().find_by_name_kind("holder", Kind::Struct).unwrap();
    let member = back.btf().find_member(holder, "f").unwrap().unwrap();
    assert_eq!(member.member.ty, small);
    assert_ne!(member.member.ty, big);
}

#[test]
fn only_distilled_bases_relocate() {
    let vmlinux = base(BaseShape::default());
    let split = module(&vmlinux);
    // Already on that base.
    assert!(matches!(relocate(&split, vmlinux.clone()), Err(BtfError::Relocate(RelocateError::NotDistilled(_)))));
    // Not split at all.
    assert!(matches!(relocate(&vmlinux, vmlinux.clone()), Err(BtfError::Relocate(RelocateError::NotDistilled(_)))));
    assert!(matches!(distill(&vmlinux), Err(BtfError::Distill(DistillError::NotSplit))));
    // A "distilled" base holding a pointer is not one.
    let other = base(BaseShape { padding_types: 1, ..Default::default() });
    match relocate(&split, other) {
        Err(BtfError::Relocate(RelocateError::BadDistilledType { kind, .. })) => assert_eq!(kind, Kind::Typedef),
        other => panic!("{other:?}"),
    }
}

#[test]
fn distilling_refuses_references_to_base_variables() {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, IntEncoding::SIGNED);
    let var = b.add_var("jiffies", int, 1);
    let vmlinux = Arc::new(Btf::parse(b.encode().unwrap()).unwrap());
    let mut s = BtfBuilder::new_split(&vmlinux);
    s.add_decl_tag("tag", var, -1);
    let split = Btf::parse_split(s.encode().unwrap(), vmlinux).unwrap();
    match distill(&split) {
        Err(BtfError::Distill(DistillError::UnexpectedBaseReference { to, kind, .. })) => {
            assert_eq!((to, kind), (var, Kind::Var))
        }
        other => panic!("{other:?}"),
    }
}
