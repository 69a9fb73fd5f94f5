//! CO-RE resolution on synthetic BTF (no kernel): flavours, fields moved into anonymous members,
//! candidates that disagree (an ambiguity error naming both), fields the target lacks (0 for
//! existence checks, poison for the rest), array bounds, enums and ENUM64, safe and unsafe
//! load-size changes, and malformed relocations reported by name.

use std::sync::Arc;

use bpfkit_btf::{Btf, BtfBuilder, IntEncoding, MemberSpec, TypeId};
use bpfkit_obj::core::{self, CandidateCache, CoreTarget, ModuleTarget, Origin, Outcome, POISON_HELPER, RelocKind};
use bpfkit_obj::{CoreRelo, Insn, LinkedProgram, ObjError};

struct Target {
    vmlinux: Btf,
    modules: Vec<ModuleTarget>,
}

impl CoreTarget for Target {
    fn vmlinux(&self) -> &Btf {
        &self.vmlinux
    }
    fn modules(&self) -> Result<Vec<ModuleTarget>, String> {
        Ok(self.modules.clone())
    }
}

fn m(name: &str, ty: TypeId, byte: u32) -> MemberSpec<'_> {
    MemberSpec::new(name, ty, byte)
}

/// Kernel BTF: `struct task { int pad; union { struct { long a; int pid; }; }; unsigned int
/// flags:3; } `, `enum e { ONE = 1, BIG = -2 }`, `enum64 e64 { HUGE = 1 << 40 }`, `struct arr {
/// int x[4]; }`.
fn kernel() -> Btf {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, IntEncoding::SIGNED);
    let long = b.add_int("long", 8, IntEncoding::SIGNED);
    let uint = b.add_int("unsigned int", 4, IntEncoding::NONE);
    let inner = b.add_struct("", 16, &[m("a", long, 0), m("pid", int, 8)]);
    let anon = b.add_union("", 16, &[m("", inner, 0)]);
    let flags = MemberSpec { name: "flags", ty: uint, bit_offset: 8 * 24 + 5, bitfield_size: 3 };
    b.add_struct("task", 32, &[m("pad", int, 0), m("", anon, 8), flags]);
    b.add_enum("e", 4, true, &[("ONE", 1), ("BIG", -2)]);
    b.add_enum64("e64", 8, false, &[("HUGE", 1 << 40)]);
    let idx = b.add_int("__ARRAY_SIZE_TYPE__", 4, IntEncoding::NONE);
    let x = b.add_array(int, idx, 4);
    b.add_struct("arr", 16, &[m("x", x, 0)]);
    let ptr = b.add_ptr(int);
    b.add_struct("ptrs", 8, &[m("p", ptr, 0)]);
    b.add_struct("widen", 8, &[m("v", long, 0)]);
    Btf::parse(b.encode().unwrap()).unwrap()
}

/// Object BTF with the local view of those types, plus `arr`/`ptrs`/`widen` locals, and the
/// access strings the relocations use.
struct Local {
    btf: Arc<Btf>,
    ids: std::collections::HashMap<&'static str, TypeId>,
}

fn local(extra: impl FnOnce(&mut BtfBuilder, &mut std::collections::HashMap<&'static str, TypeId>)) -> Local {
    let mut b = BtfBuilder::new();
    let mut ids = std::collections::HashMap::new();
    let int = b.add_int("int", 4, IntEncoding::SIGNED);
    let uint = b.add_int("unsigned int", 4, IntEncoding::NONE);
    let flags = MemberSpec { name: "flags", ty: uint, bit_offset: 64, bitfield_size: 3 };
    ids.insert("task___v2", b.add_struct("task___v2", 12, &[m("pid", int, 0), m("gone", int, 4), flags]));
    ids.insert("e", b.add_enum("e", 4, true, &[("ONE", 1), ("BIG", -2), ("NOPE", 9)]));
    ids.insert("e64", b.add_enum64("e64", 8, false, &[("HUGE", 0)]));
    let idx = b.add_int("__ARRAY_SIZE_TYPE__", 4, IntEncoding::NONE);
    let x = b.add_array(int, idx, 8);
    ids.insert("arr", b.add_struct("arr", 32, &[m("x", x, 0)]));
    let ptr = b.add_ptr(int);
    ids.insert("ptrs", b.add_struct("ptrs", 8, &[m("p", ptr, 0)]));
    ids.insert("widen", b.add_struct("widen", 4, &[m("v", uint, 0)]));
    ids.insert("nothere", b.add_struct("nothere", 4, &[m("x", int, 0)]));
    for access in ["0", "0:0", "0:1", "0:2", "0:0:5", "0:0:9", "1", "2"] {
        b.add_string(access);
    }
    extra(&mut b, &mut ids);
    Local { btf: Arc::new(Btf::parse(b.encode().unwrap()).unwrap()), ids }
}

fn string_offset(btf: &Btf, s: &str) -> u32 {
    let strings = btf.own_strings();
    let needle: Vec<u8> = s.bytes().chain([0]).collect();
    strings.windows(needle.len()).position(|w| w == needle).map(|p| p as u32).unwrap_or_else(|| panic!("no string {s}"))
}

/// A program of one instruction `insn` carrying relocation (`kind`, `ty`, `access`).
fn program(local: &Local, insn: Vec<Insn>, kind: u32, ty: &str, access: &str) -> LinkedProgram {
    LinkedProgram {
        name: "p".into(),
        insns: insn,
        relocs: Vec::new(),
        func_info: Vec::new(),
        line_info: Vec::new(),
        core_relos: vec![CoreRelo {
            insn_off: 0,
            type_id: local.ids[ty],
            access_str_off: string_offset(&local.btf, access),
            kind,
        }],
        functions: vec![(0, "p".into())],
    }
}

fn alu(imm: i32) -> Vec<Insn> {
    vec![Insn::new(0xb7, 1, 0, 0, imm), Insn::new(0x95, 0, 0, 0, 0)]
}

fn ldx(size_code: u8, off: i16) -> Vec<Insn> {
    vec![Insn::new(0x61 & !0x18 | size_code, 0, 1, off, 0), Insn::new(0x95, 0, 0, 0, 0)]
}

fn run(target: &Target, local: &Local, mut prog: LinkedProgram) -> Result<(Vec<Insn>, Outcome), ObjError> {
    let mut cache = CandidateCache::new();
    let out = core::relocate(&mut prog, &local.btf, target, &mut cache)?;
    Ok((prog.insns, out[0].outcome.clone()))
}

fn target() -> Target {
    Target { vmlinux: kernel(), modules: Vec::new() }
}

#[test]
fn flavoured_field_found_through_anonymous_members() {
    let l = local(|_, _| {});
    // task___v2.pid (0:0): local offset 0, kernel offset 8 + 8 = 16 inside union > struct.
    let (insns, outcome) = run(&target(), &l, program(&l, alu(0), 0, "task___v2", "0:0")).unwrap();
    assert_eq!(insns[0].imm, 16);
    assert!(
        matches!(outcome, Outcome::Applied { orig: 0, new: 16, target: Some((Origin::Vmlinux, _)), .. }),
        "{outcome:?}"
    );
    // Existence of a field the kernel lacks: 0; its offset: poisoned.
    let (insns, _) = run(&target(), &l, program(&l, alu(1), 2, "task___v2", "0:1")).unwrap();
    assert_eq!(insns[0].imm, 0);
    let (insns, outcome) = run(&target(), &l, program(&l, alu(4), 0, "task___v2", "0:1")).unwrap();
    assert_eq!(outcome, Outcome::Poisoned);
    assert_eq!((insns[0].code, insns[0].imm), (0x85, POISON_HELPER));
}

#[test]
fn bitfield_shifts_and_signedness() {
    let l = local(|_, _| {});
    // Kernel flags: bits 197..199 of a 4-byte unsigned int: load at byte 24,
    // lshift = 64 - (197 + 3 - 192) = 56, rshift = 61.
    let lshift = run(&target(), &l, program(&l, alu(0), 4, "task___v2", "0:2")).unwrap().0[0].imm;
    let rshift = run(&target(), &l, program(&l, alu(61), 5, "task___v2", "0:2")).unwrap().0[0].imm;
    let offset = run(&target(), &l, program(&l, alu(0), 0, "task___v2", "0:2")).unwrap().0[0].imm;
    let signed = run(&target(), &l, program(&l, alu(0), 3, "task___v2", "0:2")).unwrap().0[0].imm;
    assert_eq!((offset, lshift, rshift, signed), (24, 56, 61, 0));
}

#[test]
fn array_indexes_within_the_targets_bounds() {
    let l = local(|_, _| {});
    // arr.x[5]: local array of 8, kernel of 4: no match, offset poisoned, existence 0.
    let (_, outcome) = run(&target(), &l, program(&l, alu(20), 0, "arr", "0:0:5")).unwrap();
    assert_eq!(outcome, Outcome::Poisoned);
    let (insns, _) = run(&target(), &l, program(&l, alu(1), 2, "arr", "0:0:5")).unwrap();
    assert_eq!(insns[0].imm, 0);
    // Past the local array's own bound: a malformed relocation, named.
    let e = run(&target(), &l, program(&l, alu(36), 0, "arr", "0:0:9")).unwrap_err().to_string();
    assert!(e.contains("index 9 past the 8 elements"), "{e}");
}

#[test]
fn enum_values_and_enum64() {
    let l = local(|_, _| {});
    let (insns, _) = run(&target(), &l, program(&l, alu(-2), 11, "e", "1")).unwrap();
    assert_eq!(insns[0].imm, -2);
    let (insns, _) = run(&target(), &l, program(&l, alu(1), 10, "e", "2")).unwrap();
    assert_eq!(insns[0].imm, 0, "NOPE does not exist in the kernel's enum");
    let ld = vec![Insn::new(0x18, 1, 0, 0, 0), Insn::default(), Insn::new(0x95, 0, 0, 0, 0)];
    let (insns, outcome) = run(&target(), &l, program(&l, ld, 11, "e64", "0")).unwrap();
    assert_eq!((insns[0].imm, insns[1].imm), (0, 1 << 8), "{outcome:?}");
}

#[test]
fn load_sizes_follow_pointers_and_unsigned_ints_only() {
    let l = local(|b, ids| {
        let int = b.add_int("int", 4, IntEncoding::SIGNED);
        ids.insert("widen_signed", b.add_struct("widen", 4, &[m("v", int, 0)]));
        b.add_string("0:0");
    });
    // widen.v: local u32, kernel long (signed): resizing a load is refused with a reason.
    let e = run(&target(), &l, program(&l, ldx(0x00, 0), 0, "widen_signed", "0:0")).unwrap_err().to_string();
    assert!(e.contains("only pointers and unsigned integers"), "{e}");
    // ptrs.p is a pointer on both sides: same size here, the offset is checked and kept.
    let (insns, _) = run(&target(), &l, program(&l, ldx(0x18, 0), 0, "ptrs", "0:0")).unwrap();
    assert_eq!(insns[0].off, 0);
    // An instruction that does not hold the local value belongs to another relocation.
    let e = run(&target(), &l, program(&l, alu(7), 0, "ptrs", "0:0")).unwrap_err().to_string();
    assert!(e.contains("does not belong"), "{e}");
}

#[test]
fn types_missing_everywhere_and_in_modules() {
    let l = local(|_, _| {});
    let (insns, _) = run(&target(), &l, program(&l, alu(1), 8, "nothere", "0")).unwrap();
    assert_eq!(insns[0].imm, 0);
    // A module defines it: found there, with the module named as the origin.
    let base = Arc::new(kernel());
    let mut b = BtfBuilder::new_split(&base);
    let int = b.add_int("int", 4, IntEncoding::SIGNED);
    let id = b.add_struct("nothere", 8, &[m("pad", int, 0), m("x", int, 4)]);
    let module = Btf::parse_split(b.encode().unwrap(), base.clone()).unwrap();
    let t = Target { vmlinux: kernel(), modules: vec![ModuleTarget { name: "mod_a".into(), btf: Arc::new(module) }] };
    let (insns, outcome) = run(&t, &l, program(&l, alu(0), 0, "nothere", "0:0")).unwrap();
    assert_eq!(insns[0].imm, 4);
    assert!(
        matches!(&outcome, Outcome::Applied { target: Some((Origin::Module(m), tid)), .. } if m == "mod_a" && *tid == id)
    );
}

#[test]
fn candidates_that_disagree_are_an_ambiguity_error() {
    let l = local(|_, _| {});
    let base = Arc::new(kernel());
    let module = |name: &str, x_at: u32| {
        let mut b = BtfBuilder::new_split(&base);
        let int = b.add_int("int", 4, IntEncoding::SIGNED);
        b.add_struct("nothere", 16, &[m("x", int, x_at)]);
        ModuleTarget { name: name.into(), btf: Arc::new(Btf::parse_split(b.encode().unwrap(), base.clone()).unwrap()) }
    };
    let t = Target { vmlinux: kernel(), modules: vec![module("mod_a", 0), module("mod_b", 8)] };
    let e = run(&t, &l, program(&l, alu(0), 0, "nothere", "0:0")).unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, ObjError::Core { .. }), "{text}");
    assert!(text.contains("ambiguous") && text.contains("mod_a") && text.contains("mod_b"), "{text}");
    // Two modules that agree are fine.
    let t = Target { vmlinux: kernel(), modules: vec![module("mod_a", 8), module("mod_b", 8)] };
    assert_eq!(run(&t, &l, program(&l, alu(0), 0, "nothere", "0:0")).unwrap().0[0].imm, 8);
}

#[test]
fn malformed_relocations_are_named() {
    let l = local(|_, _| {});
    let mut p = program(&l, alu(0), 0, "task___v2", "0:0");
    p.core_relos[0].kind = 99;
    let e = run(&target(), &l, p).unwrap_err().to_string();
    assert!(e.contains("unknown CO-RE relocation kind 99"), "{e}");
    let mut p = program(&l, alu(0), 0, "task___v2", "0:0");
    p.core_relos[0].access_str_off = u32::MAX;
    assert!(run(&target(), &l, p).is_err());
    // A type relocation whose access string is not "0".
    let e = run(&target(), &l, program(&l, alu(0), 8, "task___v2", "0:0")).unwrap_err().to_string();
    assert!(e.contains("expected \"0\""), "{e}");
    assert_eq!(RelocKind::from_raw(12), Some(RelocKind::TypeMatches));
}

#[test]
fn flavoured_target_types_are_candidates_too() {
    let l = local(|_, _| {});
    // vmlinux has only `nothere___k` (a flavoured kernel name): it is the candidate of local
    // `nothere`, as libbpf matches essential names on both sides.
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, IntEncoding::SIGNED);
    b.add_struct("nothere___k", 12, &[m("pad", int, 0), m("x", int, 8)]);
    let vmlinux = Btf::parse(b.encode().unwrap()).unwrap();
    assert_eq!(vmlinux.flavoured_types(), &[2]);
    let t = Target { vmlinux, modules: Vec::new() };
    assert_eq!(run(&t, &l, program(&l, alu(0), 0, "nothere", "0:0")).unwrap().0[0].imm, 8);

    // A module's flavoured type whose name is a string of vmlinux (split BTF names may point
    // into the base's strings), and the base's own flavoured type, which a module search must
    // not count as the module's.
    let base = Arc::new({
        let mut b = BtfBuilder::new();
        let int = b.add_int("int", 4, IntEncoding::SIGNED);
        b.add_struct("other___x", 4, &[m("y", int, 0)]);
        b.add_string("nothere___m");
        Btf::parse(b.encode().unwrap()).unwrap()
    });
    let mut b = BtfBuilder::new_split(&base);
    let int = b.add_int("int", 4, IntEncoding::SIGNED);
    let id = b.add_struct("", 8, &[m("pad", int, 0), m("x", int, 4)]);
    b.record_mut(id).unwrap().name_off = string_offset(&base, "nothere___m");
    let encoded = b.encode().unwrap();
    let module = Btf::parse_split(encoded, base.clone()).unwrap();
    let name_off = module.type_by_id(id).unwrap().name_offset();
    assert!(name_off < module.first_string_offset(), "the builder reused the base's string");
    assert_eq!(module.flavoured_types(), &[id]);
    assert_eq!(base.flavoured_types(), &[2]);
    let t = Target {
        vmlinux: Btf::parse(base.raw_bytes().to_vec()).unwrap(),
        modules: vec![ModuleTarget { name: "mod_a".into(), btf: Arc::new(module) }],
    };
    let (insns, outcome) = run(&t, &l, program(&l, alu(0), 0, "nothere", "0:0")).unwrap();
    assert_eq!(insns[0].imm, 4);
    assert!(
        matches!(&outcome, Outcome::Applied { target: Some((Origin::Module(m), tid)), .. } if m == "mod_a" && *tid == id)
    );
}

#[test]
fn resolutions_describe_the_local_access_path() {
    let l = local(|_, _| {});
    let mut cache = CandidateCache::new();
    // A field (byte offset, bit remainder), an enumerator and a type, as libbpf prints specs.
    // (kind, type, access, the instruction's value as clang wrote it, the path.)
    for (kind, ty, access, orig, want) in [
        (0, "task___v2", "0:0", 0, "struct task___v2.pid (0:0 @ offset 0)"),
        (0, "task___v2", "0:2", 8, "struct task___v2.flags (0:2 @ offset 8)"),
        (10, "e", "1", 1, "enum e::BIG (1)"),
        (8, "arr", "0", 1, "struct arr"),
    ] {
        let mut prog = program(&l, alu(orig), kind, ty, access);
        let out = core::relocate(&mut prog, &l.btf, &target(), &mut cache).unwrap();
        let id = l.ids[ty];
        assert_eq!(out[0].local, format!("{} [{id}] {want}", out[0].kind), "{ty} {access}");
    }
}
