//! Real kernel BTF: the running kernel's, and Debian's 6.1, 6.12 and newest sid (7.x) vmlinux
//! plus every module of that sid kernel as split BTF. Each blob is checked for internal
//! consistency (every referenced id and every name offset resolves, counts add up) and must
//! re-encode byte for byte.
//!
//! The Debian corpus is fetched (private apt configuration, never the system's sources) and
//! cached by `scripts/fetch-btf-corpus.sh`. Set `BPFKIT_SKIP_CORPUS=1` to skip those tests
//! offline; they then print why.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use bpfkit_btf::{Btf, BtfBuilder, Kind, TypeDetails, TypeId};

/// What a consistency check saw.
#[derive(Default, Debug)]
struct Checked {
    types: usize,
    names: usize,
    refs: usize,
    by_kind: BTreeMap<String, usize>,
}

/// Walks every own type: names resolve as UTF-8, referenced ids resolve, records tile the type
/// section exactly, and the blob re-encodes to the same bytes.
fn check(btf: &Btf, what: &str) -> Checked {
    let mut c = Checked::default();
    let resolves = |id: TypeId, at: TypeId, c: &mut Checked| {
        c.refs += 1;
        assert!(id == 0 || btf.type_by_id(id).is_ok(), "{what}: type [{at}] refers to missing [{id}]");
    };
    let named = |off: u32, at: TypeId, c: &mut Checked| {
        c.names += 1;
        if let Err(e) = btf.str_at(off) {
            panic!("{what}: type [{at}] name offset {off}: {e}");
        }
    };
    let mut record_bytes = 0usize;
    let mut flavoured = Vec::new();
    for ty in btf.types() {
        let id = ty.id();
        c.types += 1;
        if ty.name().is_ok_and(|n| bpfkit_btf::essential_name(n) != n) {
            flavoured.push(id);
        }
        *c.by_kind.entry(ty.kind().to_string()).or_default() += 1;
        assert_eq!(btf.kind_of(id), Some(ty.kind()), "{what}: kind_of([{id}])");
        record_bytes += ty.record().len();
        named(ty.name_offset(), id, &mut c);
        if let Some(r) = ty.ref_type() {
            resolves(r, id, &mut c);
        }
        match ty.details() {
            TypeDetails::Array(a) => {
                resolves(a.elem_type, id, &mut c);
                resolves(a.index_type, id, &mut c);
            }
            TypeDetails::Struct(ms) | TypeDetails::Union(ms) => {
                for m in ms {
                    named(m.name_off, id, &mut c);
                    resolves(m.ty, id, &mut c);
                }
            }
            TypeDetails::Enum(es) => es.for_each(|e| named(e.name_off, id, &mut c)),
            TypeDetails::Enum64(es) => es.for_each(|e| named(e.name_off, id, &mut c)),
            TypeDetails::FuncProto { params, .. } => {
                for p in params {
                    named(p.name_off, id, &mut c);
                    resolves(p.ty, id, &mut c);
                }
            }
            TypeDetails::Datasec(vs) => vs.for_each(|v| resolves(v.ty, id, &mut c)),
            TypeDetails::Unknown { kind, .. } => panic!("{what}: [{id}] has unknown kind {kind}"),
            _ => {}
        }
    }
    assert_eq!(btf.flavoured_types(), flavoured.as_slice(), "{what}: flavoured types");
    assert_eq!(c.types, btf.own_type_count(), "{what}: type count");
    assert_eq!(btf.type_count() as usize, btf.first_id() as usize + c.types, "{what}: id range");
    assert_eq!(c.by_kind.values().sum::<usize>(), c.types, "{what}: counts by kind");
    assert_eq!(record_bytes, btf.header().type_len as usize, "{what}: records tile the type section");
    let again = BtfBuilder::from_btf(btf).encode().unwrap_or_else(|e| panic!("{what}: encode: {e}"));
    assert!(again == btf.raw_bytes(), "{what}: re-encoding differs from the input bytes");
    c
}

/// Well-known vmlinux types every kernel has, and a member whose offset we can check by name.
fn check_vmlinux_lookups(btf: &Btf, what: &str) {
    for name in ["task_struct", "sk_buff", "file", "inode", "mm_struct", "bpf_prog", "sock", "net_device", "cred"] {
        let id = btf.find_by_name_kind(name, Kind::Struct).unwrap_or_else(|| panic!("{what}: struct {name}"));
        assert!(btf.size_of(id).unwrap() > 0, "{what}: sizeof {name}");
        assert!(btf.align_of(id).unwrap() >= 4, "{what}: alignof {name}");
    }
    let task = btf.find_by_name_kind("task_struct", Kind::Struct).unwrap_or_default();
    let pid = btf.find_member(task, "pid").unwrap().unwrap_or_else(|| panic!("{what}: task_struct.pid"));
    assert_eq!(btf.size_of(pid.member.ty).unwrap(), 4);
    // Every STRUCT found by name must be that exact type (name index agrees with a scan).
    let mut by_name = 0;
    for ty in btf.types().filter(|t| t.kind() == Kind::Struct).step_by(97) {
        let name = ty.name().unwrap();
        if !name.is_empty() {
            assert!(btf.find_all_by_name_kind(name, Kind::Struct).contains(&ty.id()), "{what}: lookup {name}");
            by_name += 1;
        }
    }
    assert!(by_name > 10);
}

fn print_checked(what: &str, btf: &Btf, c: &Checked, elapsed: std::time::Duration) {
    let kinds: Vec<String> = c.by_kind.iter().map(|(k, n)| format!("{k}={n}")).collect();
    println!(
        "checked {what}: {} types, {} name offsets, {} type refs, {} string bytes, sorted by name: {}, round-trip ok ({elapsed:.0?})\n  {}",
        c.types,
        c.names,
        c.refs,
        btf.own_strings().len(),
        btf.is_sorted_by_name(),
        kinds.join(" ")
    );
}

#[test]
fn running_kernel_vmlinux_and_modules() {
    let sys = Path::new("/sys/kernel/btf");
    let vmlinux_path = sys.join("vmlinux");
    if !vmlinux_path.exists() {
        println!("skipped: {} does not exist (kernel without CONFIG_DEBUG_INFO_BTF)", vmlinux_path.display());
        return;
    }
    let start = Instant::now();
    let vmlinux = Arc::new(Btf::open(&vmlinux_path, None).expect("parse running vmlinux"));
    let c = check(&vmlinux, "running vmlinux");
    check_vmlinux_lookups(&vmlinux, "running vmlinux");
    print_checked("running kernel vmlinux", &vmlinux, &c, start.elapsed());
    let mut modules = 0;
    for entry in std::fs::read_dir(sys).expect("read /sys/kernel/btf").flatten() {
        let path = entry.path();
        if path == vmlinux_path {
            continue;
        }
        let module = Btf::open(&path, Some(vmlinux.clone())).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        check(&module, &path.display().to_string());
        modules += 1;
    }
    println!("checked {modules} module BTFs of the running kernel (this kernel has loadable modules: {})", modules > 0);
}

/// The corpus root, fetching it on first use; `None` (with a printed reason) when skipped.
fn corpus() -> Option<PathBuf> {
    let root = bpfkit_testkit::corpus::root()
        .unwrap_or_else(|e| panic!("fetching the Debian BTF corpus failed (BPFKIT_SKIP_CORPUS=1 skips it): {e}"));
    if root.is_none() {
        println!("skipped: {}", bpfkit_testkit::corpus::SKIPPED);
    }
    root
}

fn debian_vmlinux(name: &str) -> Option<(Arc<Btf>, String)> {
    let root = corpus()?;
    let dir = root.join(name);
    let version = std::fs::read_to_string(dir.join("VERSION")).unwrap_or_default().trim().to_string();
    let start = Instant::now();
    let btf = Btf::open(dir.join("vmlinux"), None).unwrap_or_else(|e| panic!("{name} vmlinux: {e}"));
    let what = format!("Debian {version} vmlinux (ELF .BTF)");
    let c = check(&btf, &what);
    check_vmlinux_lookups(&btf, &what);
    print_checked(&what, &btf, &c, start.elapsed());
    Some((Arc::new(btf), version))
}

#[test]
fn debian_6_1_vmlinux() {
    if let Some((btf, version)) = debian_vmlinux("6.1") {
        assert!(version.starts_with("6.1."), "{version}");
        assert!(!btf.is_sorted_by_name());
    }
}

#[test]
fn debian_6_12_vmlinux() {
    if let Some((btf, version)) = debian_vmlinux("6.12") {
        assert!(version.starts_with("6.12."), "{version}");
        assert!(!btf.is_sorted_by_name());
    }
}

#[test]
fn debian_sid_vmlinux_and_every_module() {
    let Some((vmlinux, version)) = debian_vmlinux("sid") else { return };
    let major: u32 = version.split('.').next().and_then(|m| m.parse().ok()).unwrap_or(0);
    assert!(major >= 7, "sid kernel {version} is older than 7.x");
    assert!(vmlinux.is_sorted_by_name(), "{version}: vmlinux BTF is expected to be sorted by name");

    let modules_dir = corpus().map(|r| r.join("sid/modules")).unwrap_or_default();
    let paths = bpfkit_testkit::corpus::module_files(&modules_dir).unwrap_or_else(|e| panic!("{e}"));
    assert!(paths.len() > 4000, "only {} modules under {}", paths.len(), modules_dir.display());
    let start = Instant::now();
    let (mut types, mut bytes, mut refs, mut names, mut sorted) = (0, 0, 0, 0, 0);
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for path in &paths {
        let what = path.display().to_string();
        let module = Btf::open(path, Some(vmlinux.clone())).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(module.is_split() && module.first_id() == vmlinux.type_count(), "{what}: split on vmlinux");
        let c = check(&module, &what);
        types += c.types;
        refs += c.refs;
        names += c.names;
        bytes += module.raw_bytes().len();
        sorted += module.is_sorted_by_name() as usize;
        for (k, n) in c.by_kind {
            *kinds.entry(k).or_default() += n;
        }
    }
    // Module-only types are visible through the module and absent from vmlinux.
    if let Some(btrfs) = paths.iter().find(|p| p.ends_with("btrfs.ko")) {
        let module = Btf::open(btrfs, Some(vmlinux.clone())).expect("btrfs");
        let id = module.find_by_name_kind("btrfs_inode", Kind::Struct).expect("struct btrfs_inode in btrfs.ko");
        assert!(id >= vmlinux.type_count());
        assert_eq!(vmlinux.find_by_name_kind("btrfs_inode", Kind::Struct), None);
        assert!(module.find_member(id, "vfs_inode").unwrap().is_some());
    }
    let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{k}={n}")).collect();
    println!(
        "checked {} modules of Debian {version} as split BTF on its vmlinux: {types} types, {names} name offsets, \
         {refs} type refs, {bytes} BTF bytes, {sorted} sorted by name; all round-trip ({:.1?})\n  {}",
        paths.len(),
        start.elapsed(),
        kinds.join(" ")
    );
}

/// A real module of the sid corpus compressed as distributions ship it (xz, zstd, gzip, with
/// the system's tools): `ModuleFile` reads each to the same `.BTF` as the plain file, which
/// parses as split BTF on its vmlinux; cut short, each gives a typed error.
#[test]
fn compressed_modules_read_like_plain_ones() {
    let Some(root) = corpus() else { return };
    let dir = root.join("sid");
    let plain = dir.join("modules/kernel/fs/btrfs/btrfs.ko");
    let vmlinux = Arc::new(Btf::open(dir.join("vmlinux"), None).unwrap());
    let reference = bpfkit_btf::ModuleFile::open(&plain).unwrap();
    assert!(!reference.has_distilled_base());
    let want = reference.btf_bytes().as_slice().to_vec();
    let scratch = std::env::temp_dir().join(format!("bpfkit-ko-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    for (tool, ext, kind) in [
        ("xz", "xz", bpfkit_btf::Compression::Xz),
        ("zstd", "zst", bpfkit_btf::Compression::Zstd),
        ("gzip", "gz", bpfkit_btf::Compression::Gzip),
    ] {
        let out = scratch.join(format!("btrfs.ko.{ext}"));
        let file = std::fs::File::create(&out).unwrap();
        let status = Command::new(tool).arg("-c").arg(&plain).stdout(file).status();
        assert!(status.is_ok_and(|s| s.success()), "{tool} -c {} failed", plain.display());
        let bytes = std::fs::read(&out).unwrap();
        assert_eq!(bpfkit_btf::Compression::detect(&bytes), kind);
        let start = Instant::now();
        let m = bpfkit_btf::ModuleFile::open(&out).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
        let took = start.elapsed();
        assert_eq!(m.btf_bytes().as_slice(), &want[..], "{ext}: .BTF differs from the plain file's");
        let btf = m.btf_on(Some(vmlinux.clone())).unwrap();
        assert!(btf.find_own_by_name_kind("btrfs_inode", bpfkit_btf::Kind::Struct).is_some());
        println!("btrfs.ko.{ext}: {} -> {} bytes of .BTF in {took:.1?}", bytes.len(), want.len());
        for cut in [bytes.len() / 2, 7] {
            match bpfkit_btf::ModuleFile::from_bytes(bytes[..cut].to_vec()) {
                Err(e) => assert!(!e.to_string().is_empty()),
                Ok(_) => panic!("{ext} cut at {cut} bytes was accepted"),
            }
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
}
