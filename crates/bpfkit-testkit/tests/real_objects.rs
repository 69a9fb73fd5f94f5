//! Objects nobody in this project wrote (the scx schedulers, the BPF objects of Debian
//! packages; see `bpfkit_testkit::real_objects`), loaded on the host kernel with libbpf 1.8
//! (the sid chroot's `bpftool prog loadall`) and with bpfkit, side by side: the test fails when
//! libbpf loads an object that bpfkit does not. The same comparison runs in the VM on the sid
//! kernel (`vm.rs`, `real_objects_load`), where sched_ext exists.

mod common;

use bpfkit_testkit::chroot::SidRoot;
use bpfkit_testkit::kernel::SidKernel;
use bpfkit_testkit::real_objects;
use bpfkit_testkit::reference::{BpfFs, Bpftool};
use bpfkit_testkit::{corpus, skip};
use common::conformance::{self, Row};

#[test]
fn real_objects_load_as_with_libbpf() {
    let Some((root, objects)) = corpus("real_objects_load_as_with_libbpf") else { return };
    let bpftool = Bpftool::new(&root).expect("the chroot's bpftool");
    let bpffs = BpfFs::mount("real-objects").expect("a private bpffs");
    let mut rows = Vec::with_capacity(objects.len());
    for object in &objects {
        // Pins by name land on the namespace's own bpffs, so objects that pin maps by name
        // find none left by another object.
        let libbpf = {
            let mut cmd = std::process::Command::new("unshare");
            let inner = bpftool.command(std::iter::empty::<&str>());
            cmd.args(["--mount", "--propagation", "private", "sh", "-c"])
                .arg("mount -t bpf bpf /sys/fs/bpf && exec \"$@\"")
                .arg("sh")
                .arg(inner.get_program())
                .args(inner.get_args());
            conformance::libbpf(cmd, &object.path, "/sys/fs/bpf/loaded")
        };
        // bpffs names cannot hold a dot.
        let pins = bpffs.path().join(object.name.replace(['/', '.'], "_"));
        std::fs::create_dir_all(&pins).expect("pin directory");
        let bpfkit = conformance::bpfkit(&object.path, &pins);
        rows.push(Row { name: object.name.clone(), origin: object.origin.clone(), libbpf, bpfkit });
    }
    let gaps = conformance::report(&format!("host kernel {}", std::env::consts::ARCH), &rows);
    assert!(gaps.is_empty(), "libbpf loads {} object(s) bpfkit does not:\n  {}", gaps.len(), gaps.join("\n  "));
}

/// The sid chroot and the corpus, or `None` (with the reason printed) when this machine cannot
/// build it.
fn corpus(test: &str) -> Option<(SidRoot, Vec<real_objects::RealObject>)> {
    let blocked = if !skip::is_root() {
        Some("needs root (bpf(2), the sid chroot)")
    } else if std::env::var_os("BPFKIT_SKIP_CORPUS").is_some_and(|v| v == "1") {
        Some(corpus::SKIPPED)
    } else {
        None
    };
    if let Some(reason) = blocked {
        skip::skip(test, reason).unwrap();
        return None;
    }
    let kernel = SidKernel::fetch().expect("the sid kernel (for the chroot's headers)");
    let root = SidRoot::ensure(kernel.version()).expect("the sid chroot");
    let objects = real_objects::all(&root).expect("the real objects");
    Some((root, objects))
}

fn object<'a>(objects: &'a [real_objects::RealObject], name: &str) -> &'a real_objects::RealObject {
    objects.iter().find(|o| o.name == name).unwrap_or_else(|| panic!("{name} is not in the corpus"))
}

/// The BTF the loader would give the kernel for `open`, loaded into this kernel: the kernel's
/// own checks (offsets, sizes, names, linkage) pass or say why.
fn kernel_takes_btf(open: &bpfkit::OpenObject) -> Result<(), String> {
    let bytes = open.model().btf_for_kernel().map_err(|e| e.to_string())?.ok_or("no BTF")?;
    let mut log = vec![0u8; 1 << 20];
    match bpfkit::sys::btf_load(&bytes, &mut log) {
        Ok(_fd) => Ok(()),
        Err(e) => Err(format!("{e}: {}", String::from_utf8_lossy(&log).trim_end_matches('\0').trim())),
    }
}

/// libbpf's behaviours the scx schedulers rely on, checked on them without sched_ext (the
/// host has none; `vm.rs` loads and runs them): each object's BTF, as bpfkit gives it to the
/// kernel, is accepted by this kernel, and the model decides as libbpf does.
#[test]
fn scx_objects_open_as_libbpf_opens_them() {
    let Some((_, objects)) = corpus("scx_objects_open_as_libbpf_opens_them") else { return };
    for o in objects.iter().filter(|o| o.scx.is_some()) {
        let open = bpfkit::OpenObject::open(&o.path).unwrap_or_else(|e| panic!("{}: {e}", o.name));
        // Linked objects (every scx object is) keep the linker's DATASEC layout: a linked
        // object has one `____fmt` per source file, which a lookup by name put at one offset.
        kernel_takes_btf(&open).unwrap_or_else(|e| panic!("{}: the kernel refuses its BTF: {e}", o.name));
        let model = open.model();
        // Storage maps have max_entries 0 and open (the kernel requires 0).
        let storage: Vec<&str> =
            model.maps.iter().filter(|m| m.def.map_type.is_kernel_sized()).map(|m| m.name.as_str()).collect();
        assert!(!storage.is_empty() && model.maps.iter().all(|m| m.def.unloadable().is_none()), "{}", o.name);
        // `private(NAME)` sections hold only hidden variables: not memory-mapped, or the
        // kernel refuses their kptrs and locks; `.bss` holds visible ones and is.
        for m in &model.maps {
            if let bpfkit::bpfkit_obj::MapKind::Data(_) = m.kind {
                let mmapable = m.def.map_flags & bpfkit::bpfkit_obj::BPF_F_MMAPABLE != 0;
                let private =
                    m.name.starts_with(".data.") && m.name.chars().skip(6).all(|c| c.is_ascii_uppercase() || c == '_');
                if private {
                    assert!(!mmapable, "{}: {} holds only hidden variables, yet is mmapable", o.name, m.name);
                }
                if m.name == ".bss" {
                    assert!(mmapable, "{}: .bss is not mmapable", o.name);
                }
            }
        }
        // Programs link when asked (at load, as libbpf does); what the loader reads from them
        // before linking (which externs they use) is what linking gives.
        for (i, p) in model.programs.iter().enumerate() {
            let linked = model.link(i).unwrap_or_else(|e| panic!("{}: {}: {e}", o.name, p.name));
            let mut unlinked: Vec<String> =
                model.program_relocs(i).unwrap().into_iter().map(|t| format!("{t:?}")).collect();
            let mut relocs: Vec<String> = linked.relocs.iter().map(|r| format!("{:?}", r.target)).collect();
            unlinked.sort();
            relocs.sort();
            assert_eq!(unlinked, relocs, "{}: {}: relocations before and after linking", o.name, p.name);
        }
        println!("{}: BTF accepted by the kernel; storage maps {storage:?}", o.name);
    }
    // An arena's address comes from `__ulong(map_extra, 1 << 44)` (scx's lib/arena_map.h).
    for name in ["scx_p2dq", "scx_lavd", "scx_chaos"] {
        let open = bpfkit::OpenObject::open(&object(&objects, name).path).unwrap();
        let arena = open.model().map("arena").unwrap_or_else(|| panic!("{name}: no arena map"));
        assert_eq!((arena.def.map_extra, arena.def.max_entries), (1 << 44, 1 << 20), "{name}");
    }
    // scx_layered's .bss is 158 MiB: it opens, and its BTF says so to the kernel.
    let open = bpfkit::OpenObject::open(&object(&objects, "scx_layered").path).unwrap();
    let bss = open.model().map(".bss").unwrap().def.value_size;
    assert!(bss > 64 << 20, "scx_layered .bss is {bss} bytes");
}

/// Hidden (`__hidden`) global functions become static in the kernel's copy of the BTF, so the
/// verifier checks them with their callers' context, as libbpf arranges; scx's arena library
/// has such functions returning pointers, which the verifier refuses to check on their own.
#[test]
fn hidden_functions_are_static_to_the_kernel() {
    let Some((_, objects)) = corpus("hidden_functions_are_static_to_the_kernel") else { return };
    let o = object(&objects, "scx_p2dq");
    let open = bpfkit::OpenObject::open(&o.path).unwrap();
    let model = open.model();
    let local = model.btf.as_deref().unwrap();
    let kernel =
        bpfkit_btf::Btf::parse(bpfkit_btf::BtfBytes::from_vec(model.btf_for_kernel().unwrap().unwrap())).unwrap();
    let mut changed = Vec::new();
    for id in local.own_ids_of_kind(bpfkit_btf::Kind::Func) {
        let (a, b) = (local.type_by_id(id).unwrap(), kernel.type_by_id(id).unwrap());
        // (Extern FUNCs, kfunc declarations, become global in the kernel's copy.)
        if a.vlen() == bpfkit_btf::linkage::GLOBAL && b.vlen() != a.vlen() {
            assert_eq!(b.vlen(), bpfkit_btf::linkage::STATIC, "global -> static only");
            changed.push(a.name().unwrap().to_owned());
        }
    }
    println!("{}: {} hidden functions made static, e.g. {:?}", o.name, changed.len(), &changed[..changed.len().min(5)]);
    assert!(!changed.is_empty(), "no hidden function in {}", o.name);
    kernel_takes_btf(&open).unwrap();
}

/// scx's exit dump buffer (`.data.uei_dump`, a `RESIZABLE_ARRAY` of one byte) resized before
/// load, as `uei_set_size!` does: the section, its variable and its array type follow, what
/// was written stays, and the kernel takes the BTF.
#[test]
fn global_data_arrays_resize_before_load() {
    let Some((_, objects)) = corpus("global_data_arrays_resize_before_load") else { return };
    let mut open = bpfkit::OpenObject::open(&object(&objects, "scx_bpfland").path).unwrap();
    assert_eq!(open.model().map(".data.uei_dump").unwrap().def.value_size, 1);
    open.set_global("uei_dump", b"x").unwrap();
    open.resize_data(".data.uei_dump", 32768).unwrap();
    let map = open.model().map(".data.uei_dump").unwrap();
    assert_eq!((map.def.value_size, map.data.len(), map.data[0]), (32768, 32768, b'x'));
    assert_eq!(open.model().global("uei_dump").unwrap().len(), 32768);
    kernel_takes_btf(&open).unwrap();
    let kernel =
        bpfkit_btf::Btf::parse(bpfkit_btf::BtfBytes::from_vec(open.model().btf_for_kernel().unwrap().unwrap()))
            .unwrap();
    let sec = kernel.find_by_name_kind(".data.uei_dump", bpfkit_btf::Kind::Datasec).unwrap();
    assert_eq!(kernel.type_by_id(sec).unwrap().size(), Some(32768));
    assert_eq!(kernel.size_of(kernel.find_by_name_kind("uei_dump", bpfkit_btf::Kind::Var).unwrap()).unwrap(), 32768);
}

/// libbpf-tools objects leave map sizes to their user space (`max_entries` 0 in C, set before
/// load): they open, and sized from Rust as the tools size them, they load here.
#[test]
fn maps_sized_between_open_and_load() {
    let Some((_, objects)) = corpus("maps_sized_between_open_and_load") else { return };
    let bpffs = BpfFs::mount("sized").expect("a private bpffs");
    let mut loaded = Vec::new();
    for name in [
        "libbpf-tools/capable",
        "libbpf-tools/profile",
        "libbpf-tools/offcputime",
        "libbpf-tools/cpudist",
        "xdp-tools/xdp-bench.3",
    ] {
        let o = object(&objects, name);
        let mut open = bpfkit::OpenObject::open(&o.path).unwrap_or_else(|e| panic!("{name}: {e}"));
        open.set_pin_root(bpffs.path());
        let to_size: Vec<String> = open
            .model()
            .maps
            .iter()
            .filter(|m| m.def.max_entries == 0 && m.def.unloadable().is_some())
            .map(|m| m.name.clone())
            .collect();
        assert!(!to_size.is_empty(), "{name} has no map left to size");
        for m in &to_size {
            let def = &mut open.map_mut(m).unwrap().def;
            def.max_entries = 1024;
            // Stack maps also get their value size from the tools: the stack depth (127).
            if def.value_size == 0 {
                def.value_size = 127 * 8;
            }
        }
        let obj = open.load().unwrap_or_else(|e| panic!("{name} with {to_size:?} sized: {e}"));
        for m in &to_size {
            assert_eq!(obj.map(m).unwrap().max_entries(), 1024);
        }
        loaded.push(format!("{name} ({})", to_size.join(", ")));
    }
    println!("loaded once sized: {}", loaded.join("; "));
}
