//! Bad objects: truncated, corrupted or crafted ELF files give a typed error naming what and
//! where, never a panic (the deterministic counterpart of `fuzz/fuzz_targets/object.rs`).

use bpfkit_btf::{Btf, BtfBuilder, BtfBytes, Kind, RecordData, TypeDetails};
use bpfkit_obj::{ObjError, Object};

fn fixture(stem: &str) -> Vec<u8> {
    let path = bpfkit_testkit::cache::repo_root().join("bpf").join(format!("{stem}.bpf.o"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

const FIXTURES: [&str; 4] = ["minimal", "maps", "tcp_cc", "testmod_ops"];

#[test]
fn not_bpf_objects() {
    assert!(matches!(Object::parse("x", b""), Err(ObjError::Elf(_))));
    assert!(matches!(Object::parse("x", b"\x7fELF\x02\x01\x01garbage"), Err(ObjError::Elf(_))));
    let exe = std::fs::read("/proc/self/exe").expect("read the test binary");
    let err = Object::parse("x", &exe).unwrap_err();
    assert!(matches!(err, ObjError::NotBpf { .. }), "{err}");
}

/// Every prefix (at a stride) of every fixture: an error or a parse, no panic.
#[test]
fn truncations() {
    for stem in FIXTURES {
        let bytes = fixture(stem);
        let mut errors = 0;
        for len in (0..bytes.len()).step_by(7) {
            if let Err(e) = Object::parse(stem, &bytes[..len]) {
                let _ = e.to_string();
                errors += 1;
            }
        }
        assert!(errors > 0, "{stem}: no truncation was rejected");
    }
}

/// Random byte and word corruptions (a fixed-seed xorshift): errors or parses, no panic; on a
/// successful parse the BTF rewrite and the relocation indexes stay sane.
#[test]
fn corruptions() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut outcomes = [0usize; 2];
    for stem in FIXTURES {
        let original = fixture(stem);
        for _ in 0..1500 {
            let mut bytes = original.clone();
            for _ in 0..(1 + next() % 4) {
                let at = (next() % bytes.len() as u64) as usize;
                match next() % 3 {
                    0 => bytes[at] ^= 1 << (next() % 8),
                    1 => bytes[at] = next() as u8,
                    _ => {
                        let end = (at + 4).min(bytes.len());
                        bytes[at..end].fill(0xff);
                    }
                }
            }
            match Object::parse(stem, &bytes) {
                Ok(obj) => {
                    let _ = obj.btf_for_kernel();
                    // Linking happens on demand: a broken object fails there with an error,
                    // never a panic, and what links is consistent.
                    for index in 0..obj.programs.len() {
                        let Ok(prog) = obj.link(index) else { continue };
                        assert!(prog.relocs.iter().all(|r| r.insn < prog.insns.len()));
                        assert!(prog.func_info.iter().all(|f| (f.insn_off as usize) < prog.insns.len()));
                        assert!(obj.program_relocs(index).is_ok());
                    }
                    outcomes[0] += 1;
                }
                Err(e) => {
                    assert!(!e.to_string().is_empty());
                    outcomes[1] += 1;
                }
            }
        }
    }
    println!("corruptions: {} parsed, {} rejected", outcomes[0], outcomes[1]);
    assert!(outcomes[1] > 0);
}

/// Replaces every occurrence of `from` by `to` (same length) in `bytes`.
fn replace_all(bytes: &mut [u8], from: &[u8], to: &[u8]) -> usize {
    assert_eq!(from.len(), to.len());
    let mut n = 0;
    let mut i = 0;
    while i + from.len() <= bytes.len() {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + from.len()].copy_from_slice(to);
            n += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    n
}

#[test]
fn code_referring_to_an_unknown_section_is_named() {
    let mut bytes = fixture("minimal");
    // `.rodata` becomes an unknown section `.xodata`, still referenced by the program.
    assert!(replace_all(&mut bytes, b".rodata\0", b".xodata\0") > 0);
    let err = Object::parse("minimal", &bytes).unwrap_err().to_string();
    assert!(err.contains(".xodata") && err.contains("neither code, maps nor global data"), "{err}");
    assert!(err.contains("tracepoint/syscalls/sys_enter_getpid"), "names the relocated section: {err}");
}

#[test]
fn two_relocations_of_one_instruction_are_refused() {
    use object::{Object as _, ObjectSection as _};
    let mut bytes = fixture("minimal");
    // The program's relocations (`Elf64_Rel`: 8-byte offset, 8-byte info): the second one is
    // moved onto the first one's instruction.
    let file = object::File::parse(&*bytes).unwrap();
    let rel = file.sections().find(|s| s.name() == Ok(".reltracepoint/syscalls/sys_enter_getpid")).expect("rel");
    let (at, len) = rel.file_range().expect("in the file");
    assert!(len >= 32, "at least two relocations");
    let at = at as usize;
    drop(file);
    let first: [u8; 8] = bytes[at..at + 8].try_into().unwrap();
    bytes[at + 16..at + 24].copy_from_slice(&first);
    let err = Object::parse("minimal", &bytes).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ObjError::Reloc { .. }), "{text}");
    assert!(text.contains("a second relocation for the same instruction"), "{text}");
}

#[test]
fn unknown_program_section_is_kept_unclassified() {
    let mut bytes = fixture("minimal");
    assert!(replace_all(&mut bytes, b"tracepoint/syscalls/", b"tracepoinx/syscalls/") > 0);
    let obj = Object::parse("minimal", &bytes).expect("parses");
    let prog = obj.program("count_getpid").expect("program");
    assert_eq!(prog.section, "tracepoinx/syscalls/sys_enter_getpid");
    assert_eq!(prog.kind, None, "the loader must refuse it by name unless the caller sets a type");
}

/// Rewrites the `.BTF` section of `bytes` in place (the new BTF must keep its size).
fn patch_btf(bytes: &mut [u8], edit: impl FnOnce(&Btf, &mut BtfBuilder)) {
    let range = bpfkit_btf::elf::section_range(bytes, ".BTF").expect(".BTF");
    let btf = Btf::parse(BtfBytes::from_vec(bytes[range.clone()].to_vec())).expect("BTF");
    let mut builder = BtfBuilder::from_btf(&btf);
    edit(&btf, &mut builder);
    let encoded = builder.encode().expect("encode");
    assert_eq!(encoded.len(), range.len(), "the patch must keep the BTF size");
    bytes[range].copy_from_slice(&encoded);
}

/// Sets `N` in the `__uint(field, N)` of map `map`.
fn set_uint(btf: &Btf, builder: &mut BtfBuilder, map: &str, field: &str, value: u32) {
    let var = btf.find_by_name_kind(map, Kind::Var).expect("map VAR");
    let TypeDetails::Var { ty, .. } = btf.type_by_id(var).expect("var").details() else { panic!() };
    let member = btf.find_member(ty, field).expect("lookup").expect("field");
    let TypeDetails::Ptr(array) = btf.type_by_id(member.member.ty).expect("ptr").details() else {
        panic!("not __uint")
    };
    let record = builder.record_mut(array).expect("array record");
    let RecordData::Array(info) = &mut record.data else { panic!("not an array") };
    info.nelems = value;
}

#[test]
fn map_sizes_are_checked_at_load_not_at_open() {
    // User space sizes maps between open and load: 0 in the object is fine until then.
    let mut bytes = fixture("minimal");
    patch_btf(&mut bytes, |btf, b| set_uint(btf, b, "counts", "max_entries", 0));
    let obj = Object::parse("minimal", &bytes).expect("a map of size 0 opens");
    let why = obj.map("counts").unwrap().def.unloadable().expect("but cannot be loaded as it is");
    assert!(why.starts_with("max_entries is 0, and an ARRAY map needs a size"), "{why}");

    // A ring buffer size is rounded at load (to the page size there), not refused at open.
    let mut bytes = fixture("maps");
    patch_btf(&mut bytes, |btf, b| set_uint(btf, b, "events", "max_entries", 4097));
    let obj = Object::parse("maps", &bytes).expect("an odd ring buffer size opens");
    assert_eq!(obj.map("events").unwrap().def.max_entries, 4097);
    assert!(obj.map("events").unwrap().def.unloadable().is_none());
}

#[test]
fn impossible_map_definitions_are_named() {
    let mut bytes = fixture("maps");
    patch_btf(&mut bytes, |btf, b| set_uint(btf, b, "bpfkit_pinned", "pinning", 7));
    let err = Object::parse("maps", &bytes).unwrap_err().to_string();
    assert!(err.starts_with("map bpfkit_pinned: field pinning: unknown pinning mode 7"), "{err}");
}

#[test]
fn only_sections_ending_in_an_array_resize() {
    let mut obj = Object::parse("minimal", &fixture("minimal")).unwrap();
    // `.data` holds `stamp`, a u64: nothing to grow.
    let e = obj.resize_data(".data", 64).unwrap_err().to_string();
    assert!(e.contains("stamp is not an array"), "{e}");
    assert!(obj.resize_data("counts", 64).unwrap_err().to_string().contains("only global data"));
    assert!(obj.resize_data("nothing", 64).is_err());
}

#[test]
fn arena_globals_need_their_arena() {
    let obj = Object::parse("scx_cid", &fixture("scx_cid")).unwrap();
    let arena = obj.map("arena").unwrap();
    assert_eq!(arena.def.map_type, bpfkit_obj::MapType::ARENA);
    // The __arena global's initial value is the arena's data, and it is a global of the arena.
    assert_eq!(arena.data, 1000u64.to_le_bytes());
    assert_eq!(obj.global("in_arena").unwrap(), 1000u64.to_le_bytes());
    // Without an arena map (here: made an array), `.addr_space.1` has nowhere to go.
    let mut bytes = fixture("scx_cid");
    patch_btf(&mut bytes, |btf, b| set_uint(btf, b, "arena", "type", 2));
    let err = Object::parse("scx_cid", &bytes).unwrap_err().to_string();
    assert!(err.contains(".addr_space.1") && err.contains("no arena map"), "{err}");
}
