//! BPF objects nobody in this project wrote, for testing the loader side by side with libbpf:
//!
//! - the scx project's sched_ext schedulers, from their crates.io releases (which carry the BPF
//!   C sources; `scx_cargo` carries the shared headers and a `vmlinux.h`), compiled with the
//!   sid chroot's clang with the flags of `scx_cargo`'s `BpfBuilder` and linked with libbpf's
//!   static linker (`bpftool gen object`), as every scx build does;
//! - the objects of Debian packages built against libbpf: libbpf-tools (BCC's CO-RE tools) and
//!   xdp-tools carry theirs as skeletons inside their executables, libxdp and suricata ship
//!   `.o` files.
//!
//! The crates are GPL-2.0 and the packages have their own licences: they are fetched at test
//! time (crates by pinned version and checksum, packages at the version sid has then) and
//! cached under `$BPFKIT_CACHE/real-objects`, never copied into the repository. This file is
//! the one list of them.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cache::{self, Fnv};
use crate::chroot::SidRoot;
use crate::command;
use crate::error::{Error, Result};

/// A crate from crates.io, pinned by version and the registry's SHA-256 of its `.crate` file.
#[derive(Debug, Clone, Copy)]
pub struct Crate {
    /// Its name.
    pub name: &'static str,
    /// The pinned version.
    pub version: &'static str,
    /// SHA-256 of the `.crate` archive, as the crates.io index lists it (`cksum`).
    pub sha256: &'static str,
}

/// `scx_cargo`: the headers (`bpf_h/`) and `vmlinux.h` every scx scheduler builds with.
pub const SCX_CARGO: Crate = Crate {
    name: "scx_cargo",
    version: "1.1.4",
    sha256: "ab605cfcecba0e27d96f07e16c1d319cb9ba7bd6fcf85520b4db153bda597f59",
};

/// One scx scheduler's BPF object and how its `build.rs` builds it.
#[derive(Debug, Clone, Copy)]
pub struct ScxObject {
    /// Short name (`bpfland` for `scx_bpfland`).
    pub name: &'static str,
    /// The crate with its sources.
    pub krate: Crate,
    /// The compiler: bookworm-era `clang-19` builds most; arena code needs a newer one (clang
    /// before 22 lowers some arena stores without the address space cast, see
    /// `scx_cargo`'s `check_cid_clang`).
    pub clang: &'static str,
    /// The sources linked into the object, the skeleton's source first (from `build.rs`).
    pub sources: &'static [&'static str],
    /// Uses a BPF arena.
    pub arena: bool,
    /// Runs without its own user space (`bpfkit run`), given [`ScxObject::run_globals`].
    pub runs_alone: bool,
    /// The `.rodata` knobs its user space would set on a one-node machine, as `bpfkit run
    /// --global NAME=VALUE` arguments (`{cpus}`: the number of possible CPUs).
    pub run_globals: &'static [&'static str],
    /// The syscall programs its user space runs before attaching, as `bpfkit run --syscall`
    /// arguments.
    pub run_syscalls: &'static [&'static str],
}

const fn krate(name: &'static str, version: &'static str, sha256: &'static str) -> Crate {
    Crate { name, version, sha256 }
}

/// The scx schedulers built for the tests. Versions are pinned; the sources lists follow each
/// crate's `build.rs`.
pub const SCX_OBJECTS: &[ScxObject] = &[
    ScxObject {
        name: "bpfland",
        krate: krate("scx_bpfland", "1.1.4", "938e1fe1d9378c8ff9c44ec6376a5070bff15e1c8bf264707efc4a10afdd45a2"),
        clang: "clang-19",
        sources: &["src/bpf/main.bpf.c"],
        arena: false,
        runs_alone: true,
        run_globals: &["numa_enabled=false"],
        run_syscalls: &[],
    },
    ScxObject {
        name: "beerland",
        krate: krate("scx_beerland", "1.1.4", "b07670752454abd77f96719e23b54d56ba99a4b95880b424e6f75b5fe6a8c738"),
        clang: "clang-19",
        sources: &["src/bpf/main.bpf.c"],
        arena: false,
        runs_alone: true,
        run_globals: &["numa_enabled=false"],
        run_syscalls: &[],
    },
    ScxObject {
        name: "flash",
        krate: krate("scx_flash", "1.1.4", "4c3f2cf02b26484f74c178ca979b55c7c6aaa5784e37ba0d2ee035659a8626da"),
        clang: "clang-19",
        sources: &["src/bpf/main.bpf.c"],
        arena: false,
        runs_alone: true,
        run_globals: &["numa_disabled=true"],
        run_syscalls: &[],
    },
    ScxObject {
        name: "tickless",
        krate: krate("scx_tickless", "1.1.4", "560ba3cc340fc8c1c8ebdb3fcf7d689cdbaeaf38fd732f06e36c7efe484d670a"),
        clang: "clang-19",
        sources: &["src/bpf/main.bpf.c"],
        arena: false,
        runs_alone: true,
        // Its user space also sets the primary CPUs through a syscall program.
        run_globals: &["nr_cpu_ids={cpus}", "slice_ns=20000000"],
        run_syscalls: &["enable_primary_cpu:ffffffff", "enable_primary_cpu:00000000", "enable_primary_cpu:01000000"],
    },
    ScxObject {
        name: "cosmos",
        krate: krate("scx_cosmos", "1.1.7", "876ec23ff4116defac78b3bba9c4bde5d2a435451b4cbbbe1c6f5ecc23478a7b"),
        clang: "clang-19",
        sources: &["src/bpf/main.bpf.c", "src/bpf/lib/pmu.bpf.c"],
        arena: false,
        runs_alone: true,
        run_globals: &[],
        run_syscalls: &[],
    },
    ScxObject {
        name: "layered",
        krate: krate("scx_layered", "1.1.4", "6cf7f988657407c9168ebf861be7331cf1ce73ae061aa11ea3f7658cc7012d55"),
        clang: "clang-19",
        sources: &["src/bpf/main.bpf.c", "src/bpf/timer.bpf.c", "src/bpf/util.bpf.c", "src/bpf/lib/pmu.bpf.c"],
        arena: false,
        runs_alone: false,
        run_globals: &[],
        run_syscalls: &[],
    },
    ScxObject {
        name: "rusty",
        krate: krate("scx_rusty", "1.1.4", "264f60ec58eab62d6f01e38c90c5f60429ebe247351995b94d97746723ab6121"),
        clang: "clang-22",
        sources: &["src/bpf/main.bpf.c", "src/bpf/sdt_task.bpf.c", "src/bpf/sdt_alloc.bpf.c"],
        arena: true,
        runs_alone: false,
        run_globals: &[],
        run_syscalls: &[],
    },
    ScxObject {
        name: "p2dq",
        krate: krate("scx_p2dq", "1.1.4", "5ed311dc9a7911626de9e0a28b365f7c7719de2b458a4d1eea71d9f082366578"),
        clang: "clang-22",
        sources: &[
            "src/bpf/main.bpf.c",
            "src/bpf/lib/arena.bpf.c",
            "src/bpf/lib/common.bpf.c",
            "src/bpf/lib/atq.bpf.c",
            "src/bpf/lib/dhq.bpf.c",
            "src/bpf/lib/bitmap.bpf.c",
            "src/bpf/lib/cpumask.bpf.c",
            "src/bpf/lib/minheap.bpf.c",
            "src/bpf/lib/rbtree.bpf.c",
            "src/bpf/lib/sdt_alloc.bpf.c",
            "src/bpf/lib/sdt_task.bpf.c",
            "src/bpf/lib/topology.bpf.c",
        ],
        arena: true,
        runs_alone: false,
        run_globals: &[],
        run_syscalls: &[],
    },
    ScxObject {
        name: "lavd",
        krate: krate("scx_lavd", "1.1.4", "f16015ee20047840a665dfc271c17517155517734336dfb3759e0487a0e94823"),
        clang: "clang-22",
        sources: &[
            "src/bpf/main.bpf.c",
            "src/bpf/balance.bpf.c",
            "src/bpf/idle.bpf.c",
            "src/bpf/introspec.bpf.c",
            "src/bpf/lat_cri.bpf.c",
            "src/bpf/lock.bpf.c",
            "src/bpf/power.bpf.c",
            "src/bpf/preempt.bpf.c",
            "src/bpf/sys_stat.bpf.c",
            "src/bpf/util.bpf.c",
            "src/bpf/lib/arena.bpf.c",
            "src/bpf/lib/common.bpf.c",
            "src/bpf/lib/atq.bpf.c",
            "src/bpf/lib/bitmap.bpf.c",
            "src/bpf/lib/cgroup_bw.bpf.c",
            "src/bpf/lib/cpumask.bpf.c",
            "src/bpf/lib/rbtree.bpf.c",
            "src/bpf/lib/minheap.bpf.c",
            "src/bpf/lib/sdt_alloc.bpf.c",
            "src/bpf/lib/sdt_task.bpf.c",
            "src/bpf/lib/topology.bpf.c",
            "src/bpf/lib/ravg.bpf.c",
        ],
        arena: true,
        runs_alone: false,
        run_globals: &[],
        run_syscalls: &[],
    },
    ScxObject {
        name: "chaos",
        krate: krate("scx_chaos", "1.1.4", "16fac4051bfefa8cb95f039d3b90741597c3e64a15710038fe108cfb13926b07"),
        clang: "clang-22",
        sources: &[
            "src/bpf/main.bpf.c",
            "src/bpf/lib/arena.bpf.c",
            "src/bpf/lib/common.bpf.c",
            "src/bpf/lib/atq.bpf.c",
            "src/bpf/lib/bitmap.bpf.c",
            "src/bpf/lib/dhq.bpf.c",
            "src/bpf/lib/minheap.bpf.c",
            "src/bpf/lib/rbtree.bpf.c",
            "src/bpf/lib/sdt_alloc.bpf.c",
            "src/bpf/lib/sdt_task.bpf.c",
            "src/bpf/lib/topology.bpf.c",
        ],
        arena: true,
        runs_alone: false,
        run_globals: &[],
        run_syscalls: &[],
    },
];

/// `scx_cargo`'s clang flags (`clang_info.rs`, `bpf_builder.rs`) for x86-64, besides the
/// include directories: BPF CPU v4 without sign-extending arena loads (older JITs), and with
/// clang 22 and later no jump tables (`gotox`, Linux 6.19).
const SCX_CFLAGS: &str = "-g -O2 -Wall -Wno-compare-distinct-pointer-types -D__TARGET_ARCH_x86 -mcpu=v4 \
                          -mllvm -disable-ldsx -mlittle-endian -D__SCX_TARGET_ARCH_x86 -target bpf";

/// Debian packages whose BPF objects join the corpus.
pub const DEBIAN_PACKAGES: &[&str] = &["libbpf-tools", "xdp-tools", "libxdp1", "suricata"];

/// One object of the corpus, ready to load.
#[derive(Debug, Clone)]
pub struct RealObject {
    /// A unique name (`scx_bpfland`, `libbpf-tools/opensnoop`, `xdp-tools/xdp-bench.3`).
    pub name: String,
    /// The object file.
    pub path: PathBuf,
    /// Where it comes from: crate or package and version, compiler.
    pub origin: String,
    /// For an scx scheduler, how it was built.
    pub scx: Option<&'static ScxObject>,
}

/// Every object of the corpus: the scx schedulers, then the Debian packages' objects.
pub fn all(root: &SidRoot) -> Result<Vec<RealObject>> {
    let mut out = scx_objects(root)?;
    out.extend(debian_objects(root)?);
    Ok(out)
}

/// The scx schedulers of [`SCX_OBJECTS`], built on first use.
pub fn scx_objects(root: &SidRoot) -> Result<Vec<RealObject>> {
    let dir = cache::root()?.join("real-objects");
    let _lock = cache::lock(&dir.join(".lock"))?;
    let cargo = unpacked(&dir, &SCX_CARGO)?;
    let mut out = Vec::with_capacity(SCX_OBJECTS.len());
    // Each compiler's version once (it keys the cache: a new clang rebuilds).
    let mut versions: Vec<(&str, String)> = Vec::new();
    for object in SCX_OBJECTS {
        let source = unpacked(&dir, &object.krate)?;
        let clang_version = match versions.iter().find(|(c, _)| *c == object.clang) {
            Some((_, v)) => v.clone(),
            None => {
                let v = root.sh(&format!("{} --version | head -1", object.clang))?;
                versions.push((object.clang, v.clone()));
                v
            }
        };
        let mut key = Fnv::new();
        for part in [SCX_CARGO.sha256, object.krate.sha256, object.clang, clang_version.trim(), SCX_CFLAGS] {
            key.add(part.as_bytes());
            key.add(&[0]);
        }
        for s in object.sources {
            key.add(s.as_bytes());
            key.add(&[0]);
        }
        let path = dir.join("scx").join(format!("{:016x}", key.0)).join(format!("scx_{}.bpf.o", object.name));
        if !path.is_file() {
            build_scx(root, &cargo, &source, object, &path)?;
        }
        // "Debian clang version 19.1.7 (22+b1)": the number after "version".
        let clang_number = clang_version.split_whitespace().skip_while(|w| *w != "version").nth(1).unwrap_or("?");
        out.push(RealObject {
            name: format!("scx_{}", object.name),
            path,
            origin: format!("{} {}, clang {clang_number}, linked", object.krate.name, object.krate.version),
            scx: Some(object),
        });
    }
    Ok(out)
}

/// `krate` downloaded from crates.io (checked against its pinned SHA-256) and unpacked under
/// `dir/crates/`.
fn unpacked(dir: &Path, krate: &Crate) -> Result<PathBuf> {
    let crates = dir.join("crates");
    let unpacked = crates.join(format!("{}-{}", krate.name, krate.version));
    if unpacked.join(".complete").is_file() {
        return Ok(unpacked);
    }
    cache::mkdirs(&crates)?;
    let archive = crates.join(format!("{}-{}.crate", krate.name, krate.version));
    if !archive.is_file() || sha256(&archive)? != krate.sha256 {
        command::need("curl", "curl")?;
        let url = format!("https://static.crates.io/crates/{0}/{0}-{1}.crate", krate.name, krate.version);
        let part = archive.with_extension("part");
        command::run(Command::new("curl").args(["-sSfL", "--retry", "3", "-o"]).arg(&part).arg(&url))?;
        let got = sha256(&part)?;
        if got != krate.sha256 {
            return Err(Error::Cache(format!("{url}: SHA-256 {got}, the pinned one is {}", krate.sha256)));
        }
        fs::rename(&part, &archive).map_err(|e| Error::io("rename", &part, e))?;
    }
    cache::remove(&unpacked)?;
    command::run(Command::new("tar").arg("-xzf").arg(&archive).arg("-C").arg(&crates))?;
    fs::write(unpacked.join(".complete"), krate.sha256).map_err(|e| Error::io("write", &unpacked, e))?;
    Ok(unpacked)
}

fn sha256(path: &Path) -> Result<String> {
    let out = command::run(Command::new("sha256sum").arg(path))?;
    Ok(out.split_whitespace().next().unwrap_or_default().to_owned())
}

/// Compiles `object`'s sources in the chroot and links them into `out`.
fn build_scx(root: &SidRoot, cargo: &Path, source: &Path, object: &ScxObject, out: &Path) -> Result<()> {
    let scratch_name = format!("build/scx-{}-{}", object.name, std::process::id());
    let scratch = root.path().join(&scratch_name);
    cache::remove(&scratch)?;
    cache::mkdirs(&scratch.join("include"))?;
    // The include tree scx_cargo's build script makes: bpf_h/ plus the vmlinux headers.
    command::run(Command::new("cp").arg("-r").arg(source).arg(scratch.join("src")))?;
    command::run(Command::new("cp").arg("-rT").arg(cargo.join("bpf_h")).arg(scratch.join("include")))?;
    command::run(
        Command::new("sh")
            .arg("-c")
            .arg(r#"zstd -dc "$1" | tar -x -C "$2" --strip-components=1"#)
            .arg("sh")
            .arg(cargo.join("vmlinux.tar.zst"))
            .arg(scratch.join("include")),
    )?;
    let extra = if object.clang >= "clang-22" { " -mllvm -disable-gotox" } else { "" };
    let inc = format!("/{scratch_name}/include");
    let mut script = format!(
        "set -e\ncd /{scratch_name}/src\nsys=$({cc} -v -E - </dev/null 2>&1 | sed -n '/<...> search starts here:/,/End of search/p' | grep '^ ' | sed 's/^ /-idirafter /')\n",
        cc = object.clang
    );
    let mut objs = Vec::new();
    for (i, s) in object.sources.iter().enumerate() {
        let o = format!("/{scratch_name}/{i}.o");
        script.push_str(&format!(
            "{cc} {SCX_CFLAGS}{extra} $sys -I{inc}/arch/x86 -I{inc} -I{inc}/bpf-compat -c {s} -o {o}\n",
            cc = object.clang
        ));
        objs.push(o);
    }
    script.push_str(&format!("bpftool gen object /{scratch_name}/linked.o {}\n", objs.join(" ")));
    let built = root.sh(&script).map_err(|e| Error::Cache(format!("building scx_{}: {e}", object.name)));
    let result = built.and_then(|_| {
        let dir = out.parent().unwrap_or(out);
        cache::mkdirs(dir)?;
        let linked = scratch.join("linked.o");
        let part = out.with_extension("part");
        fs::copy(&linked, &part).map_err(|e| Error::io("copy", &linked, e))?;
        fs::rename(&part, out).map_err(|e| Error::io("rename", &part, e))
    });
    cache::remove(&scratch)?;
    result
}

/// The BPF objects of [`DEBIAN_PACKAGES`], at the version sid had when they were first fetched
/// (cached after that).
pub fn debian_objects(root: &SidRoot) -> Result<Vec<RealObject>> {
    let dir = cache::root()?.join("real-objects/debian");
    let _lock = cache::lock(&dir.join(".lock"))?;
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for package in DEBIAN_PACKAGES {
        let (version, tree) = package_tree(root, &dir, package)?;
        let mut files = Vec::new();
        walk(&tree, &mut files)?;
        files.sort();
        for file in files {
            let bytes = fs::read(&file).map_err(|e| Error::io("read", &file, e))?;
            let stem = file.file_name().and_then(|n| n.to_str()).unwrap_or("object");
            for (n, object) in bpf_objects_in(&bytes).into_iter().enumerate() {
                let mut hash = Fnv::new();
                hash.add(object);
                if !seen.insert(hash.0) {
                    continue;
                }
                let base = stem.trim_end_matches("-libbpf").trim_end_matches(".bpf").trim_end_matches(".o");
                let name = if n == 0 { format!("{package}/{base}") } else { format!("{package}/{base}.{n}") };
                let path = dir.join("objects").join(format!("{}.bpf.o", name.replace('/', "_")));
                if !path.is_file() {
                    cache::mkdirs(&dir.join("objects"))?;
                    fs::write(&path, object).map_err(|e| Error::io("write", &path, e))?;
                }
                out.push(RealObject { name, path, origin: format!("Debian {package} {version}"), scx: None });
            }
        }
    }
    Ok(out)
}

/// `package` downloaded with the chroot's apt and unpacked: its version and directory.
fn package_tree(root: &SidRoot, dir: &Path, package: &str) -> Result<(String, PathBuf)> {
    let marker = dir.join(format!("{package}.version"));
    if let Ok(version) = fs::read_to_string(&marker) {
        let tree = dir.join(format!("{package}_{}", version.trim()));
        if tree.is_dir() {
            return Ok((version.trim().to_owned(), tree));
        }
    }
    let scratch = format!("/tmp/bpfkit-deb-{}", std::process::id());
    let listing = root.sh(&format!(
        "set -e; apt-get update -qq; rm -rf {scratch}; mkdir -p {scratch}; cd {scratch}; apt-get download -qq {package}; ls"
    ))?;
    let deb = listing.lines().find(|l| l.ends_with(".deb")).ok_or_else(|| {
        Error::Cache(format!("apt-get download {package} in the sid chroot gave no .deb ({listing:?})"))
    })?;
    // name_version_arch.deb, with the version's epoch colon escaped as %3a.
    let version = deb.split('_').nth(1).unwrap_or("unknown").replace("%3a", ":");
    let tree = dir.join(format!("{package}_{version}"));
    cache::remove(&tree)?;
    cache::mkdirs(&tree)?;
    let deb_path = root.path().join(scratch.trim_start_matches('/')).join(deb);
    let unpacked = command::run(Command::new("dpkg-deb").arg("-x").arg(&deb_path).arg(&tree));
    cache::remove(&root.path().join(scratch.trim_start_matches('/')))?;
    unpacked?;
    fs::write(&marker, &version).map_err(|e| Error::io("write", &marker, e))?;
    Ok((version, tree))
}

/// Every regular file under `dir`.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in fs::read_dir(dir).map_err(|e| Error::io("read directory", dir, e))? {
        let entry = entry.map_err(|e| Error::io("read directory", dir, e))?;
        let kind = entry.file_type().map_err(|e| Error::io("stat", entry.path(), e))?;
        if kind.is_dir() {
            walk(&entry.path(), out)?;
        } else if kind.is_file() {
            out.push(entry.path());
        }
    }
    Ok(())
}

/// Where the guest finds the objects and their list.
pub const GUEST_DIR: &str = "/test/real";

/// The files that put `objects` into a VM guest (see [`crate::vm::Vm::files`]): each object as
/// `GUEST_DIR/<n>.bpf.o` and a `MANIFEST` listing them (name, origin, scx scheduler or `-`,
/// tab-separated), written into `scratch`.
pub fn guest_files(objects: &[RealObject], scratch: &Path) -> Result<Vec<(String, PathBuf)>> {
    cache::mkdirs(scratch)?;
    let mut files = Vec::with_capacity(objects.len() + 1);
    let mut manifest = String::new();
    for (i, object) in objects.iter().enumerate() {
        let guest = format!("{GUEST_DIR}/{i}.bpf.o");
        let scx = object.scx.map_or("-", |s| s.name);
        manifest.push_str(&format!("{}\t{}\t{scx}\t{guest}\n", object.name, object.origin));
        files.push((guest, object.path.clone()));
    }
    let path = scratch.join("MANIFEST");
    fs::write(&path, manifest).map_err(|e| Error::io("write", &path, e))?;
    files.push((format!("{GUEST_DIR}/MANIFEST"), path));
    Ok(files)
}

/// The objects [`guest_files`] put into the guest, read back there from its `MANIFEST`.
pub fn guest_objects() -> Result<Vec<RealObject>> {
    let path = PathBuf::from(format!("{GUEST_DIR}/MANIFEST"));
    let text = fs::read_to_string(&path).map_err(|e| Error::io("read", &path, e))?;
    let mut out = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        let [name, origin, scx, guest] = fields[..] else {
            return Err(Error::Cache(format!("{}: malformed line {line:?}", path.display())));
        };
        out.push(RealObject {
            name: name.to_owned(),
            path: PathBuf::from(guest),
            origin: origin.to_owned(),
            scx: SCX_OBJECTS.iter().find(|o| o.name == scx),
        });
    }
    Ok(out)
}

/// The little-endian ELF64 BPF objects (`EM_BPF`) in `bytes`: the file itself, or skeletons a
/// program embeds (bpftool's `gen skeleton` puts the whole object into the executable). Each
/// ends at the furthest of its section header table and its sections' contents.
pub fn bpf_objects_in(bytes: &[u8]) -> Vec<&[u8]> {
    const EM_BPF: u16 = 247;
    const SHT_NOBITS: u32 = 8;
    let u16_at = |b: &[u8], o: usize| b.get(o..o + 2).map(|s| u16::from_le_bytes([s[0], s[1]]));
    let u32_at = |b: &[u8], o: usize| b.get(o..o + 4).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]));
    let u64_at = |b: &[u8], o: usize| {
        b.get(o..o + 8).map(|s| u64::from_le_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]]))
    };
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(found) = bytes.get(at..).and_then(|rest| rest.windows(4).position(|w| w == b"\x7fELF")) {
        let start = at + found;
        at = start + 4;
        let elf = &bytes[start..];
        if elf.get(4..6) != Some(&[2, 1]) || u16_at(elf, 18) != Some(EM_BPF) {
            continue;
        }
        let (Some(shoff), Some(shentsize), Some(shnum)) = (u64_at(elf, 0x28), u16_at(elf, 0x3a), u16_at(elf, 0x3c))
        else {
            continue;
        };
        let (shoff, shentsize, shnum) = (shoff as usize, shentsize as usize, shnum as usize);
        let Some(mut end) = shentsize.checked_mul(shnum).and_then(|n| n.checked_add(shoff)) else { continue };
        let mut whole = true;
        for i in 0..shnum {
            let h = shoff + i * shentsize;
            match (u32_at(elf, h + 4), u64_at(elf, h + 24), u64_at(elf, h + 32)) {
                (Some(SHT_NOBITS), _, _) => {}
                (Some(_), Some(off), Some(size)) => end = end.max(off.saturating_add(size) as usize),
                _ => whole = false,
            }
        }
        if whole && end <= elf.len() {
            out.push(&elf[..end]);
            at = start + end;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::bpf_objects_in;

    #[test]
    fn embedded_objects_are_cut_out_whole() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bpf");
        let a = std::fs::read(dir.join("minimal.bpf.o")).unwrap();
        let b = std::fs::read(dir.join("maps.bpf.o")).unwrap();
        // An "executable" holding both, with other bytes (and a non-BPF ELF magic) around them.
        let mut host = b"\x7fELF\x02\x01 not a BPF object ....".to_vec();
        host.extend_from_slice(&a);
        host.extend_from_slice(b"padding");
        host.extend_from_slice(&b);
        host.extend_from_slice(b"trailer");
        let found = bpf_objects_in(&host);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0], &a[..]);
        assert_eq!(found[1], &b[..]);
        // Truncated: not an object.
        assert!(bpf_objects_in(&a[..a.len() - 1]).is_empty());
    }
}
