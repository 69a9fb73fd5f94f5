//! The object model against the project's compiled fixtures (`bpf/*.bpf.o`, built by clang-19):
//! what each source declares must come out of the ELF file, linked and relocated.

use std::path::PathBuf;

use bpfkit_btf::{Btf, BtfBytes, Kind, TypeDetails};
use bpfkit_obj::insn::{LD_IMM64, PSEUDO_CALL};
use bpfkit_obj::{
    AttachTarget, AttachType, DataKind, MapKind, MapType, Object, Pinning, ProgramType, RelocTarget, SlotInit,
};

fn fixture_path(stem: &str) -> PathBuf {
    bpfkit_testkit::cache::repo_root().join("bpf").join(format!("{stem}.bpf.o"))
}

fn fixture(stem: &str) -> Object {
    let path = fixture_path(stem);
    Object::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn minimal_programs_maps_and_globals() {
    let obj = fixture("minimal");
    assert_eq!(obj.name, "minimal");
    assert_eq!(obj.license, "GPL");
    assert_eq!(obj.programs.len(), 1);
    let prog = &obj.programs[0];
    let linked = obj.link(0).expect("link");
    assert_eq!((prog.name.as_str(), prog.section.as_str()), ("count_getpid", "tracepoint/syscalls/sys_enter_getpid"));
    let kind = prog.kind.as_ref().expect("a known section");
    assert_eq!(kind.prog_type, ProgramType::TRACEPOINT);
    assert_eq!(kind.target, AttachTarget::Tracepoint { category: "syscalls".into(), name: "sys_enter_getpid".into() });
    assert_eq!(linked.insns.last().map(|i| i.code), Some(bpfkit_obj::insn::EXIT));

    let counts = obj.map("counts").expect("counts");
    assert_eq!(
        (counts.def.map_type, counts.def.key_size, counts.def.value_size, counts.def.max_entries),
        (MapType::ARRAY, 4, 8, 1)
    );
    assert!(counts.def.btf_key_type.is_some() && counts.def.btf_value_type.is_some());

    let rodata = obj.map(".rodata").expect(".rodata");
    assert_eq!(rodata.kind, MapKind::Data(DataKind::Rodata));
    assert_eq!(rodata.kernel_name, "minimal.rodata");
    assert!(rodata.is_read_only());
    let bss = obj.map(".bss").expect(".bss");
    assert_eq!(bss.def.value_size, 16);
    assert!(bss.data.iter().all(|&b| b == 0));
    assert_eq!(obj.global("stamp").expect("stamp"), 0x5eedu64.to_le_bytes());
    assert_eq!(obj.global("target_tgid").expect("target_tgid"), [0; 4]);

    // Every relocation points at a map or a global's bytes; together they cover counts,
    // target_tgid, hits, stamp and last_stamp.
    let mut referenced = Vec::new();
    for reloc in &linked.relocs {
        assert_eq!(linked.insns[reloc.insn].code, LD_IMM64, "{reloc:?}");
        match &reloc.target {
            RelocTarget::Map { map } => referenced.push(obj.maps[*map].name.clone()),
            RelocTarget::MapValue { map, offset } => {
                let var = obj
                    .globals()
                    .iter()
                    .find(|g| g.map == *map && g.offset == *offset)
                    .expect("a global at that offset");
                referenced.push(var.name.clone());
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    referenced.sort();
    referenced.dedup();
    assert_eq!(referenced, ["counts", "hits", "last_stamp", "stamp", "target_tgid"]);
}

#[test]
fn set_global_checks_name_and_size() {
    let mut obj = fixture("minimal");
    obj.set_global("target_tgid", &42u32.to_le_bytes()).expect("set");
    assert_eq!(obj.global("target_tgid").expect("get"), 42u32.to_le_bytes());
    let rodata = obj.map(".rodata").expect(".rodata");
    let var = obj.globals().iter().find(|g| g.name == "target_tgid").expect("var");
    assert_eq!(&rodata.data[var.offset as usize..][..4], 42u32.to_le_bytes());
    assert!(obj.set_global("target_tgid", &[1, 2]).unwrap_err().to_string().contains("4 bytes, got 2"));
    assert!(obj.set_global("nope", &[0]).unwrap_err().to_string().contains("\"nope\""));
}

#[test]
fn maps_fixture_links_subprograms_and_reads_every_map_shape() {
    let obj = fixture("maps");
    let meta = obj.program("exercise").expect("exercise");
    assert_eq!(meta.kind.as_ref().map(|k| (k.prog_type, k.sleepable)), Some((ProgramType::SYSCALL, true)));
    let prog = &obj.link_named("exercise").expect("link");
    let names: Vec<&str> = prog.functions.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(names[0], "exercise");
    assert!(names.contains(&"store") && names.contains(&"scaled_value"), "{names:?}");
    assert_eq!(names.len(), 3);
    // Every bpf-to-bpf call lands on the first instruction of a linked function.
    let starts: Vec<usize> = prog.functions.iter().map(|(s, _)| *s).collect();
    let mut calls = 0;
    for (i, insn) in prog.insns.iter().enumerate() {
        if insn.code == bpfkit_obj::insn::CALL && insn.src() == PSEUDO_CALL {
            let target = (i as i64 + 1 + insn.imm as i64) as usize;
            assert!(starts.contains(&target), "call at {i} lands on {target}, not a function start {starts:?}");
            calls += 1;
        }
    }
    assert!(calls >= 3, "{calls} calls");
    // func_info: one record per linked function, at its start, in order.
    let fi: Vec<usize> = prog.func_info.iter().map(|f| f.insn_off as usize).collect();
    assert_eq!(fi, starts);
    assert!(!prog.line_info.is_empty());
    assert!(prog.line_info.windows(2).all(|w| w[0].insn_off <= w[1].insn_off));
    assert!(prog.line_info.iter().all(|l| (l.insn_off as usize) < prog.insns.len()));

    let def = |name: &str| obj.map(name).unwrap_or_else(|| panic!("map {name}")).def.clone();
    assert_eq!(def("hash").map_type, MapType::HASH);
    assert_eq!(def("hash").max_entries, 64);
    assert_eq!(def("percpu").map_type, MapType::PERCPU_ARRAY);
    assert_eq!(def("lru").map_type, MapType::LRU_HASH);
    let events = def("events");
    assert_eq!(
        (events.map_type, events.max_entries, events.key_size, events.value_size),
        (MapType::RINGBUF, 4096, 0, 0)
    );
    assert_eq!(def("bpfkit_pinned").pinning, Pinning::ByName);
    let outer = obj.map("outer").expect("outer");
    assert_eq!((outer.def.map_type, outer.def.value_size), (MapType::ARRAY_OF_MAPS, 4));
    let inner = outer.inner.as_ref().expect("inner template");
    assert_eq!((inner.map_type, inner.key_size, inner.value_size, inner.max_entries), (MapType::ARRAY, 4, 8, 1));
    assert_eq!(
        outer.slots,
        [SlotInit { slot: 0, target: "inner_a".into() }, SlotInit { slot: 1, target: "inner_b".into() }]
    );
    let stats = obj.map(".data.stats").expect(".data.stats");
    assert_eq!((stats.kernel_name.as_str(), &stats.kind), (".data.stats", &MapKind::Data(DataKind::Data)));
    assert_eq!(obj.global("scale").expect("scale"), 3u64.to_le_bytes());
    assert_eq!(obj.global("bias").expect("bias"), 7u64.to_le_bytes());
}

#[test]
fn struct_ops_and_externs() {
    let obj = fixture("tcp_cc");
    let ops = obj.map("bpfkit_reno").expect("bpfkit_reno");
    assert!(
        matches!(&ops.kind, MapKind::StructOps { link: true, type_name, funcs } if type_name == "tcp_congestion_ops" && funcs.len() == 4),
        "{:?}",
        ops.kind
    );
    assert_eq!(ops.def.map_type, MapType::STRUCT_OPS);
    assert_eq!(ops.data.len(), ops.def.value_size as usize);
    assert!(ops.data.windows(11).any(|w| w == b"bpfkit_reno"), "the name is in the struct's initial bytes");
    assert_eq!(obj.programs.len(), 4);
    assert!(obj.programs.iter().all(|p| p.kind.as_ref().map(|k| k.prog_type) == Some(ProgramType::STRUCT_OPS)));
    let mut kfuncs: Vec<&str> = (0..obj.programs.len())
        .flat_map(|i| obj.program_relocs(i).expect("relocs"))
        .filter_map(|r| match r {
            // vmlinux.h from bpftool 7.x declares kfunc prototypes `__weak __ksym`.
            RelocTarget::Extern { name, call: true, weak: true } => Some(name.as_str()),
            _ => None,
        })
        .collect();
    kfuncs.sort();
    assert_eq!(kfuncs, ["tcp_reno_cong_avoid", "tcp_reno_ssthresh", "tcp_reno_undo_cwnd"]);

    let module = fixture("testmod_ops");
    let inspect = module.link_named("bpfkit_inspect").expect("bpfkit_inspect");
    let externs: Vec<(&str, bool)> = inspect
        .relocs
        .iter()
        .filter_map(|r| match &r.target {
            RelocTarget::Extern { name, call, .. } => Some((name.as_str(), *call)),
            _ => None,
        })
        .collect();
    assert!(externs.contains(&("bpfkit_testmod_pcpu_u64", false)), "{externs:?}");
    assert!(externs.contains(&("bpfkit_testmod_obj_acquire", true)), "{externs:?}");
    assert!(!inspect.core_relos.is_empty(), "CO-RE relocations follow the program");
    let fentry = module.programs.iter().find_map(|p| p.kind.clone()).expect("kind");
    assert_eq!(fentry.expected_attach_type, None::<AttachType>);
}

#[test]
fn btf_for_kernel_completes_datasecs() {
    for stem in ["minimal", "maps", "tcp_cc", "testmod_ops"] {
        let obj = fixture(stem);
        let bytes = obj.btf_for_kernel().expect("fixup").expect("fixtures have BTF");
        let btf = Btf::parse(BtfBytes::from_vec(bytes)).expect("fixed BTF parses");
        for ty in btf.types().filter(|t| t.kind() == Kind::Datasec) {
            let name = ty.name().expect("name");
            if name == ".ksyms" || name == ".kconfig" {
                continue;
            }
            let TypeDetails::Datasec(vars) = ty.details() else { unreachable!() };
            let size = ty.size().expect("size");
            assert!(size > 0, "{stem}: DATASEC {name} still has size 0");
            let mut end = 0;
            for var in vars {
                assert!(var.offset >= end, "{stem}: {name} vars overlap or are unsorted");
                end = var.offset + var.size;
            }
            assert!(end <= size, "{stem}: {name} vars overrun its size");
        }
    }
}

#[test]
fn every_fixture_parses() {
    let dir = bpfkit_testkit::cache::repo_root().join("bpf");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("bpf/") {
        let path = entry.expect("entry").path();
        if path.to_str().is_some_and(|p| p.ends_with(".bpf.o")) {
            let obj = Object::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            println!(
                "{}: {} programs, {} maps, {} globals",
                path.display(),
                obj.programs.len(),
                obj.maps.len(),
                obj.globals().len()
            );
            count += 1;
        }
    }
    assert!(count >= 4);
}

#[test]
fn bind_maps_writes_fds_and_offsets() {
    let obj = fixture("minimal");
    let prog = &obj.link(0).expect("link");
    let bound = prog.bind_maps(|map| Some(100 + map as i32)).expect("bind");
    assert!(bound.unresolved_externs.is_empty());
    for reloc in &prog.relocs {
        let (first, second) = (bound.insns[reloc.insn], bound.insns[reloc.insn + 1]);
        match reloc.target {
            RelocTarget::Map { map } => assert_eq!((first.src(), first.imm, second.imm), (1, 100 + map as i32, 0)),
            RelocTarget::MapValue { map, offset } => {
                assert_eq!((first.src(), first.imm, second.imm), (2, 100 + map as i32, offset as i32))
            }
            _ => unreachable!(),
        }
    }
    // Instructions without relocations are untouched.
    let relocated: Vec<usize> = prog.relocs.iter().flat_map(|r| [r.insn, r.insn + 1]).collect();
    for (i, (a, b)) in prog.insns.iter().zip(&bound.insns).enumerate() {
        if !relocated.contains(&i) {
            assert_eq!(a, b, "instruction {i}");
        }
    }
    let err = prog.bind_maps(|_| None).unwrap_err().to_string();
    assert!(err.starts_with("program count_getpid: uses map #"), "{err}");
    let tcp = fixture("tcp_cc");
    let ssthresh = tcp.link_named("bpfkit_reno_ssthresh").expect("prog");
    let bound = ssthresh.bind_maps(|m| Some(m as i32 + 3)).expect("bind");
    assert_eq!(bound.unresolved_externs.len(), 1);
    assert_eq!(bound.unresolved_externs[0].1, "tcp_reno_ssthresh");
}

#[test]
fn objects_parse_from_unaligned_buffers() {
    // `include_bytes!` and slices of larger buffers have no alignment guarantee.
    let bytes = std::fs::read(fixture_path("minimal")).unwrap();
    let mut shifted = vec![0u8; bytes.len() + 1];
    shifted[1..].copy_from_slice(&bytes);
    let obj = Object::parse("minimal.bpf.o", &shifted[1..]).expect("parse at an odd address");
    assert!(obj.program("count_getpid").is_some());
}
