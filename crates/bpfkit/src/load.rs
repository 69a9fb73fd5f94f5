//! The load pipeline, in the order the kernel needs it: the object's BTF (fixed up so the
//! kernel accepts it), then maps (inner map templates first, pinned maps reused, global data
//! written and `.rodata` frozen), then map-in-map slots, then programs (maps bound, attach
//! targets resolved in kernel BTF, the verifier's log fetched only when a load fails), then
//! program-array slots, and last the pins of newly created maps, so a failed load leaves nothing
//! behind: every fd is owned and closes on the error path.

use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

use std::collections::HashSet;
use std::sync::Arc;

use bpfkit_obj::RelocTarget;
use bpfkit_obj::core::{self, CandidateCache};
use bpfkit_obj::{BPF_F_MMAPABLE, LinkedProgram, MapDef, MapKind, MapType, Pinning};

use crate::error::{Error, Result};
use crate::externs::Externs;
use crate::kernel_btf::{self, KernelBtf};
use crate::map::{BPF_ANY, Map, StructOpsValue};
use crate::object::{LoadOptions, Object};
use crate::struct_ops;
use crate::sys::mmap::{MapMmap, page_size};
use crate::sys::uapi;
use crate::sys::{self, MapCreate, MapFd, ProgLoad};
use crate::target;

/// `BPF_F_SLEEPABLE`.
const BPF_F_SLEEPABLE: u32 = 1 << 4;
/// `BPF_F_XDP_HAS_FRAGS`.
const BPF_F_XDP_HAS_FRAGS: u32 = 1 << 5;
/// First verifier log buffer on a failed load; grown to what the kernel says it needs.
const LOG_START: usize = 256 << 10;
/// Largest verifier log buffer (the kernel's own limit is `UINT_MAX >> 2`).
const LOG_MAX: usize = 64 << 20;

/// Map types whose keys and values the kernel does not accept BTF types for (they hold fds,
/// have no key, or their values are kernel-defined): created without `btf_key/value_type_id`.
fn takes_btf_types(t: MapType) -> bool {
    !matches!(
        t,
        MapType::PERF_EVENT_ARRAY
            | MapType::CGROUP_ARRAY
            | MapType::STACK_TRACE
            | MapType::ARRAY_OF_MAPS
            | MapType::HASH_OF_MAPS
            | MapType::DEVMAP
            | MapType::DEVMAP_HASH
            | MapType::CPUMAP
            | MapType::XSKMAP
            | MapType::SOCKMAP
            | MapType::SOCKHASH
            | MapType::QUEUE
            | MapType::STACK
            | MapType::RINGBUF
            | MapType::PROG_ARRAY
    )
}

/// Kernel BTF for one load: the shared registry (or a user-supplied file for CO-RE), fetched
/// only if some program needs it.
pub(crate) struct KernelTypes<'a> {
    custom: Option<&'a Path>,
    live: Option<Arc<KernelBtf>>,
    core: Option<Arc<KernelBtf>>,
    cache: CandidateCache,
}

impl Drop for KernelTypes<'_> {
    /// The load is over: module BTF it searched but did not use is let go (once no other load
    /// runs).
    fn drop(&mut self) {
        if let Some(live) = &self.live {
            live.load_finished();
        }
    }
}

impl<'a> KernelTypes<'a> {
    pub(crate) fn new(custom: Option<&'a Path>) -> KernelTypes<'a> {
        KernelTypes { custom, live: None, core: None, cache: CandidateCache::new() }
    }

    /// The running kernel's registry.
    fn live(&mut self) -> Result<Arc<KernelBtf>> {
        if self.live.is_none() {
            let registry = kernel_btf::registry()?;
            registry.load_started();
            self.live = Some(registry);
        }
        self.live.clone().ok_or_else(|| Error::sys("kernel BTF", std::io::Error::other("unavailable")))
    }

    /// What CO-RE relocates against: the custom BTF if one was given, else the running kernel.
    fn core(&mut self) -> Result<Arc<KernelBtf>> {
        if self.core.is_none() {
            self.core = Some(match self.custom {
                Some(path) => Arc::new(KernelBtf::from_path(path)?),
                None => self.live()?,
            });
        }
        self.core.clone().ok_or_else(|| Error::sys("kernel BTF", std::io::Error::other("unavailable")))
    }
}

/// Loads `model` into the kernel.
pub(crate) fn load(mut model: bpfkit_obj::Object, options: &LoadOptions) -> Result<Object> {
    let (pin_root, extern_options) = (options.pin_root.as_path(), &options.externs);
    let mut kernel = KernelTypes::new(options.kernel_btf.as_deref());
    // Externs first: `.kconfig` values must be in place before its map is created.
    let mut used: HashSet<String> = HashSet::new();
    // Only an object that declares externs has programs that use them.
    if !model.externs.is_empty() {
        for (i, _) in model.programs.iter().enumerate().filter(|(_, p)| p.autoload) {
            for target in model.program_relocs(i)? {
                if let RelocTarget::Extern { name, .. } = target {
                    used.insert(name.clone());
                }
            }
        }
    }
    let needs_kconfig = model.externs.iter().any(|e| matches!(e.kind, bpfkit_obj::ExternKind::Kconfig { .. }));
    let externs = if used.is_empty() && !needs_kconfig {
        Externs::default()
    } else {
        let registry = kernel.live()?;
        Externs::resolve(&mut model, &used, &registry, extern_options)?
    };
    let (btf_fd, warnings) = load_btf(&model, options.require_btf)?;
    let mut maps: Vec<Option<Map>> = Vec::with_capacity(model.maps.len());
    // Where each `LIBBPF_PIN_BY_NAME` map of this load is reused from or pinned at.
    let mut pin_paths: Vec<(usize, CString)> = Vec::new();
    // struct_ops maps hold program fds: they are created after the programs.
    let mut ops: Vec<(usize, struct_ops::KernelOps)> = Vec::new();
    // Where each struct_ops program attaches: (program, target), a few per map.
    let mut ops_targets: Vec<(String, struct_ops::OpsTarget)> = Vec::new();
    for i in 0..model.maps.len() {
        let m = &model.maps[i];
        if let (MapKind::StructOps { type_name, .. }, true) = (&m.kind, m.autocreate) {
            let registry = kernel.live()?;
            let k = struct_ops::find(&registry, &m.name, type_name)?;
            for (program, target) in struct_ops::targets(&registry, &k, m)? {
                match ops_targets.iter_mut().find(|(p, _)| *p == program) {
                    Some(slot) => slot.1 = target,
                    None => ops_targets.push((program, target)),
                }
            }
            ops.push((i, k));
            maps.push(None);
            continue;
        }
        if !m.autocreate {
            maps.push(None);
            continue;
        }
        let pin_path = match m.def.pinning {
            Pinning::ByName => Some(crate::pin::pin_path(pin_root, &m.name)?),
            Pinning::None => None,
        };
        // The name moves to the created map (the model's is not needed again: see `map_name`).
        let name = std::mem::take(&mut model.maps[i].name);
        maps.push(Some(create_map(&model.maps[i], name, btf_fd.as_ref(), pin_path.as_deref())?));
        if let Some(path) = pin_path {
            pin_paths.push((i, path));
        }
    }
    // Map-in-map initializers: the slots hold other maps of this object.
    for (m, created) in model.maps.iter().zip(&maps) {
        let Some(outer) = created else { continue };
        if outer.map_type() == MapType::PROG_ARRAY || outer.reused {
            continue;
        }
        for slot in &m.slots {
            let inner = find_created(&model, &maps, &slot.target).ok_or_else(|| Error::MapCreate {
                map: outer.name().to_owned(),
                source: std::io::Error::from_raw_os_error(libc::ENOENT),
                hint: format!(" (slot {} names map {}, which was not created)", slot.slot, slot.target),
            })?;
            let fd = inner.as_fd().as_raw_fd() as u32;
            outer.update(&slot.slot.to_ne_bytes(), &fd.to_ne_bytes(), BPF_ANY)?;
        }
    }
    // Each map's fd, and where its data starts in its memory (an arena's globals sit at its end).
    let map_fd = |i: usize| {
        let m = maps.get(i).and_then(Option::as_ref)?;
        Some((m.as_fd().as_raw_fd(), m.data_base))
    };
    model.adjust_struct_ops_autoload();
    let license = CString::new(model.license.as_str()).map_err(|_| Error::Program {
        program: model.name.clone(),
        why: "its license string contains a NUL byte".into(),
    })?;
    let to_load: Vec<usize> = (0..model.programs.len()).filter(|&i| model.programs[i].autoload).collect();
    // Each loaded program: its index in the model, its kind and its fd. Its names move from
    // the model into the loaded object at the end.
    let mut programs: Vec<LoadedProgram> = Vec::with_capacity(to_load.len());
    for index in to_load {
        let kind = model.programs[index].kind.take().ok_or_else(|| Error::Program {
            program: model.programs[index].name.clone(),
            why: format!(
                "SEC(\"{}\") follows no libbpf convention: set the program's kind before load",
                model.programs[index].section
            ),
        })?;
        // Linked now, and dropped once loaded: one program's copy of its subprograms at a time.
        let p = model.link(index)?;
        let shared = LoadShared {
            model: &model,
            license: &license,
            btf_fd: btf_fd.as_ref(),
            map_fd: &map_fd,
            externs: &externs,
            ops_targets: &ops_targets,
        };
        let fd = load_program(&shared, p, &model.programs[index].section, &kind, &mut kernel).map_err(|e| match e {
            // Without the object's BTF the verifier knows less (global functions, map
            // value layouts): say so next to its reason.
            Error::ProgramLoad { program, source, note, log } if !warnings.is_empty() => Error::ProgramLoad {
                program,
                source,
                note: format!("{note} (loaded without the object's BTF, which the kernel rejected)"),
                log,
            },
            other => other,
        })?;
        programs.push(LoadedProgram { index, kind, fd });
    }
    let program_fd = |name: &str| {
        let loaded = programs.iter().find(|l| model.programs[l.index].name == name);
        loaded.map(|l| l.fd.as_fd().as_raw_fd())
    };
    for (i, k) in ops {
        let registry = kernel.live()?;
        let m = &model.maps[i];
        let local = model
            .btf
            .as_deref()
            .ok_or_else(|| Error::Program { program: m.name.clone(), why: "struct_ops without BTF".into() })?;
        let value = struct_ops::value(&registry, local, &k, m, &program_fd)?;
        let link = matches!(m.kind, MapKind::StructOps { link: true, .. });
        let mut flags = m.def.map_flags;
        if link {
            flags |= uapi::BPF_F_LINK;
        }
        if k.module.is_some() {
            flags |= uapi::BPF_F_VTYPE_BTF_OBJ_FD;
        }
        let params = MapCreate {
            map_type: MapType::STRUCT_OPS.0,
            key_size: 4,
            value_size: k.wrapper_size,
            max_entries: 1,
            map_flags: flags,
            name: m.kernel_name.as_str(),
            btf_fd: btf_fd.as_ref().map(|fd| fd.as_fd()),
            btf_vmlinux_value_type_id: k.wrapper_id,
            value_type_btf_obj_fd: k.module.as_ref().map(|md| md.fd.as_fd()),
            ..Default::default()
        };
        let def = MapDef { value_size: k.wrapper_size, map_flags: flags, ..m.def.clone() };
        let fd = MapFd::create(&params).map_err(|e| map_error(&m.name, e, &def))?;
        let map = Map { struct_ops: Some(StructOpsValue { link, value }), ..Map::created(m.name.clone(), &m.kind, fd) };
        // A link map takes its value now and registers when the link is made; a plain one
        // registers when its value is written (at attach).
        if link {
            map.write_struct_ops_value()?;
        }
        maps[i] = Some(map);
    }
    // Program array initializers.
    for (m, created) in model.maps.iter().zip(&maps) {
        let Some(array) = created else { continue };
        if array.map_type() != MapType::PROG_ARRAY || array.reused {
            continue;
        }
        for slot in &m.slots {
            let fd = program_fd(&slot.target).ok_or_else(|| Error::MapOp {
                map: array.name().to_owned(),
                op: "initialise",
                source: std::io::Error::other(format!(
                    "slot {} names program {}, which was not loaded",
                    slot.slot, slot.target
                )),
            })?;
            let fd = fd as u32;
            array.update(&slot.slot.to_ne_bytes(), &fd.to_ne_bytes(), BPF_ANY)?;
        }
    }
    // Everything loaded: now pin what the object asked to pin.
    for (i, path) in &pin_paths {
        if let Some(map) = maps.get(*i).and_then(Option::as_ref).filter(|map| !map.reused) {
            map.pin_at(path)?;
        }
    }
    Ok(Object::new(model, btf_fd, maps, programs, warnings))
}

/// A program this load made: its place in the model, what it is, and its fd.
pub(crate) struct LoadedProgram {
    pub index: usize,
    pub kind: bpfkit_obj::ProgramSection,
    pub fd: OwnedFd,
}

/// The created map named `name` (a created map holds its name; the model keeps those of the
/// maps not created).
fn find_created<'a>(model: &bpfkit_obj::Object, maps: &'a [Option<Map>], name: &str) -> Option<&'a Map> {
    let index = (0..model.maps.len()).find(|&i| map_name(model, maps, i) == name)?;
    maps.get(index)?.as_ref()
}

/// The name of map `i` of `model`, wherever it is now.
fn map_name<'a>(model: &'a bpfkit_obj::Object, maps: &'a [Option<Map>], i: usize) -> &'a str {
    match maps.get(i).and_then(Option::as_ref) {
        Some(created) => created.name(),
        None => model.maps.get(i).map_or("", |m| m.name.as_str()),
    }
}

/// `BPF_BTF_LOAD` of the object's fixed-up BTF; `None` for objects without BTF, and for
/// objects whose BTF the kernel refuses when they can do without it (then with a warning that
/// gives the kernel's reason): as libbpf, which loads such objects without BTF unless they have
/// struct_ops maps. `required` makes every refusal an error.
fn load_btf(model: &bpfkit_obj::Object, required: bool) -> Result<(Option<OwnedFd>, Vec<String>)> {
    let Some(bytes) = model.btf_for_kernel()? else { return Ok((None, Vec::new())) };
    let first = match sys::btf_load(&bytes, &mut []) {
        Ok(fd) => return Ok((Some(fd), Vec::new())),
        Err(first) => first,
    };
    // Again with a log, to say why.
    let mut log = vec![0u8; 1 << 20];
    let source = sys::btf_load(&bytes, &mut log).err().unwrap_or(first);
    let log = log_text(&log);
    let mandatory = model.maps.iter().any(|m| m.autocreate && matches!(m.kind, MapKind::StructOps { .. }));
    if required || mandatory {
        return Err(Error::BtfLoad { object: model.name.clone(), source, log });
    }
    let reason = log.lines().rev().map(str::trim).find(|l| !l.is_empty()).unwrap_or("no log").to_owned();
    let warning = format!(
        "object {}: the kernel rejected its BTF ({source}: {reason}); loaded without BTF, as libbpf does: \
         maps without BTF types, programs without function and line info (`require_btf(true)` makes this an error)",
        model.name
    );
    log::warn!("{warning}");
    Ok((None, vec![warning]))
}

fn map_error(name: &str, source: std::io::Error, def: &MapDef) -> Error {
    let hint = match (source.raw_os_error(), def.map_type) {
        (Some(libc::EINVAL), MapType::RINGBUF) => {
            format!(" (ring buffer size {} must be a power of two and a multiple of the page size)", def.max_entries)
        }
        (Some(libc::EINVAL), _) if def.max_entries == 0 => " (max_entries is 0)".into(),
        (Some(libc::EINVAL), _) => format!(
            " (type {}, key {} bytes, value {} bytes, {} entries, flags {:#x}: a combination this kernel refuses)",
            def.map_type, def.key_size, def.value_size, def.max_entries, def.map_flags
        ),
        (Some(libc::EPERM), _) => " (needs CAP_BPF or root, and RLIMIT_MEMLOCK on kernels before 5.11)".into(),
        (Some(libc::E2BIG), MapType::ARRAY) => format!(
            " (a value of {} bytes is too large for this kernel: current kernels take up to INT_MAX bytes, \
             older ones KMALLOC_MAX_SIZE, 4 MiB on x86-64)",
            def.value_size
        ),
        (Some(libc::E2BIG), _) => format!(
            " (too large for this kernel: key {} bytes, value {} bytes, {} entries)",
            def.key_size, def.value_size, def.max_entries
        ),
        _ => String::new(),
    };
    Error::MapCreate { map: name.to_owned(), source, hint }
}

/// Creates map `m`, or reuses the one pinned at `pin_path` when its definition matches.
/// `name` is the map's (moved out of `m`).
fn create_map(m: &bpfkit_obj::Map, name: String, btf_fd: Option<&OwnedFd>, pin_path: Option<&CStr>) -> Result<Map> {
    if let Some(why) = m.def.unloadable() {
        return Err(Error::MapDefinition { map: name, why });
    }
    let mut def = m.def.clone();
    // A perf event array without a size gets one slot per possible CPU, as libbpf sizes it.
    if def.map_type == MapType::PERF_EVENT_ARRAY && def.max_entries == 0 {
        let cpus = sys::possible_cpus().map_err(|e| Error::sys("/sys/devices/system/cpu/possible", e))?;
        def.max_entries = u32::try_from(cpus).unwrap_or(u32::MAX);
    }
    // Ring buffers: a power-of-two multiple of the page size, rounded up as libbpf does.
    if matches!(def.map_type, MapType::RINGBUF | MapType::USER_RINGBUF) {
        let page = u32::try_from(page_size()).unwrap_or(u32::MAX);
        def.max_entries = bpfkit_obj::ring_buffer_size(def.max_entries, page);
    }
    let def = &def;
    if let Some(path) = pin_path {
        if let Some(map) = reuse_pinned(m, &name, def, path)? {
            return Ok(map);
        }
    }
    // Inner map template: the kernel copies its shape, so it is closed right after use.
    let inner = match &m.inner {
        Some(inner_def) => {
            let inner_name = format!("{}.inner", m.kernel_name.get(..9).unwrap_or(&m.kernel_name));
            Some(
                MapFd::create(&create_params(inner_def, &inner_name, None))
                    .map_err(|e| map_error(&format!("{name} (inner map template)"), e, inner_def))?,
            )
        }
        None => None,
    };
    let mut params = create_params(def, m.kernel_name.as_str(), btf_fd);
    params.inner_map_fd = inner.as_ref().map(|fd| fd.as_fd());
    let fd = MapFd::create(&params).map_err(|e| map_error(&name, e, def))?;
    drop(inner);
    let mut map = Map::created(name, &m.kind, fd);
    if def.map_type == MapType::ARENA {
        let memory = crate::arena::map(&map.name, &map.fd, def, &m.data)?;
        map.data_base = memory.data_offset;
        map.mmap = Some(memory.mmap);
    }
    if let MapKind::Data(kind) = &m.kind {
        let key = 0u32.to_ne_bytes();
        if m.data.len() != map.fd.value_size() as usize {
            return Err(Error::MapCreate {
                map: map.name.clone(),
                source: std::io::Error::from_raw_os_error(libc::EINVAL),
                hint: format!(" (initial data is {} bytes, the value {})", m.data.len(), map.fd.value_size()),
            });
        }
        map.update(&key, &m.data, BPF_ANY)?;
        let rodata = matches!(kind, bpfkit_obj::DataKind::Rodata | bpfkit_obj::DataKind::Kconfig);
        if rodata {
            map.fd.freeze().map_err(|source| Error::MapOp { map: map.name.clone(), op: "freeze", source })?;
        }
        if def.map_flags & BPF_F_MMAPABLE != 0 {
            let len = (map.fd.value_size() as usize).div_ceil(page_size()).max(1) * page_size();
            let mapping = MapMmap::new(map.fd.as_fd(), len, 0, !rodata).map_err(|source| Error::MapOp {
                map: map.name.clone(),
                op: "mmap",
                source,
            })?;
            map.mmap = Some(mapping);
        }
    }
    Ok(map)
}

fn create_params<'a>(def: &MapDef, name: &'a str, btf_fd: Option<&'a OwnedFd>) -> MapCreate<'a> {
    let typed = btf_fd.is_some() && takes_btf_types(def.map_type);
    MapCreate {
        map_type: def.map_type.0,
        key_size: def.key_size,
        value_size: def.value_size,
        max_entries: def.max_entries,
        map_flags: def.map_flags,
        numa_node: def.numa_node,
        name,
        btf_fd: if typed { btf_fd.map(|fd| fd.as_fd()) } else { None },
        btf_key_type_id: if typed { def.btf_key_type.unwrap_or(0) } else { 0 },
        btf_value_type_id: if typed { def.btf_value_type.unwrap_or(0) } else { 0 },
        map_extra: def.map_extra,
        ..Default::default()
    }
}

/// A map pinned at `path` by an earlier load, if there is one and it matches the definition.
fn reuse_pinned(m: &bpfkit_obj::Map, name: &str, d: &MapDef, c: &CStr) -> Result<Option<Map>> {
    let path = crate::pin::as_path(c);
    let fd = match sys::obj_get(c) {
        Ok(fd) => fd,
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(None),
        Err(e) => return Err(Error::sys(format!("map {}: open pinned {}", name, path.display()), e)),
    };
    let fd = MapFd::from_fd(fd).map_err(|e| Error::sys(format!("map {}: pinned {}", name, path.display()), e))?;
    let theirs = (fd.map_type(), fd.key_size(), fd.value_size(), fd.max_entries(), fd.map_flags());
    let ours = (d.map_type.0, d.key_size, d.value_size, d.max_entries, d.map_flags);
    if theirs != ours {
        return Err(Error::MapCreate {
            map: name.to_owned(),
            source: std::io::Error::from_raw_os_error(libc::EEXIST),
            hint: format!(
                " (the map pinned at {} differs: (type, key, value, entries, flags) {theirs:?} there, {ours:?} here)",
                path.display()
            ),
        });
    }
    Ok(Some(Map { reused: true, ..Map::created(name.to_owned(), &m.kind, fd) }))
}

/// The verifier log in `buf` up to its NUL.
fn log_text(buf: &[u8]) -> String {
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// What every program of one load is loaded with.
struct LoadShared<'a> {
    model: &'a bpfkit_obj::Object,
    /// The object's license, as the kernel takes it.
    license: &'a CStr,
    /// The object's BTF in the kernel (`None`: none, or the kernel refused it).
    btf_fd: Option<&'a OwnedFd>,
    /// Each map's fd and where its data starts in its value, by map index.
    map_fd: &'a dyn Fn(usize) -> Option<(i32, u32)>,
    externs: &'a Externs,
    /// Where each struct_ops program attaches.
    ops_targets: &'a [(String, struct_ops::OpsTarget)],
}

fn load_program(
    shared: &LoadShared<'_>,
    mut p: LinkedProgram,
    section: &str,
    kind: &bpfkit_obj::ProgramSection,
    kernel: &mut KernelTypes<'_>,
) -> Result<OwnedFd> {
    let LoadShared { model, license, btf_fd, map_fd, externs, ops_targets } = *shared;
    if !p.core_relos.is_empty() {
        let local = model.btf.as_deref().ok_or_else(|| Error::Program {
            program: p.name.clone(),
            why: "has CO-RE relocations but the object has no BTF".into(),
        })?;
        let target = kernel.core()?;
        for r in core::relocate(&mut p, local, &*target, &mut kernel.cache)? {
            if let core::Outcome::Applied { target: Some((core::Origin::Module(name), _)), .. } = &r.outcome {
                target.mark_used(name);
            }
        }
    }
    let unresolved_externs = p.bind_maps_in_place(map_fd)?;
    let fd_array = externs.patch(&p.name, &mut p.insns, &unresolved_externs)?;
    let fail = |why: String| Error::Program { program: p.name.clone(), why };
    let ops_target = ops_targets.iter().find(|(name, _)| *name == p.name).map(|(_, t)| t);
    let target = if target::needs_btf_target(kind) {
        Some(target::resolve(&p.name, kind, &*kernel.live()?)?)
    } else if kind.prog_type == bpfkit_obj::ProgramType::STRUCT_OPS {
        let t = ops_target.ok_or_else(|| {
            fail(format!("SEC(\"{}\"): a struct_ops program that no struct_ops map of the object uses", section))
        })?;
        Some(target::BtfTarget { id: t.ops_id, module: t.module.clone() })
    } else {
        None
    };
    let expected_attach_type = match ops_target {
        Some(t) if kind.prog_type == bpfkit_obj::ProgramType::STRUCT_OPS => t.member_index,
        _ => kind.expected_attach_type.map_or(0, |t| t.0),
    };
    // Without the object's BTF the kernel takes no function or line info.
    let (func_info, line_info) =
        if btf_fd.is_some() { (&p.func_info[..], &p.line_info[..]) } else { (&[][..], &[][..]) };
    let mut prog_flags = 0;
    if kind.sleepable {
        prog_flags |= BPF_F_SLEEPABLE;
    }
    if kind.xdp_frags {
        prog_flags |= BPF_F_XDP_HAS_FRAGS;
    }
    let params = ProgLoad {
        prog_type: kind.prog_type.0,
        expected_attach_type,
        name: &p.name,
        insns: &p.insns,
        license,
        kern_version: model.kernel_version.unwrap_or(0),
        prog_flags,
        prog_btf_fd: btf_fd.map(|fd| fd.as_fd()),
        func_info,
        line_info,
        attach_btf_id: target.as_ref().map_or(0, |t| t.id),
        attach_btf_obj_fd: target.as_ref().and_then(|t| t.module.as_ref()).map(|m| m.fd.as_fd()),
        attach_prog_fd: None,
        fd_array: &fd_array,
        prog_ifindex: 0,
    };
    load_with_log(&p.name, &params).map_err(|e| explain_missing_kfunc(e, externs))
}

/// Loads without a log (the verifier runs faster), and on failure loads again with a log large
/// enough for all of it, to report why.
fn load_with_log(name: &str, params: &ProgLoad<'_>) -> Result<OwnedFd> {
    let source = match sys::prog_load(params, 0, &mut []).0 {
        Ok(fd) => return Ok(fd),
        Err(e) => e,
    };
    let mut size = LOG_START;
    loop {
        let mut log = vec![0u8; size];
        let (result, true_size) = sys::prog_load(params, 1, &mut log);
        match result {
            // Loaded the second time (a transient failure): take it.
            Ok(fd) => return Ok(fd),
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) && size < LOG_MAX => {
                size = (true_size as usize).max(size * 4).min(LOG_MAX);
            }
            Err(e) => {
                let source = if e.raw_os_error() == Some(libc::ENOSPC) { source } else { e };
                return Err(Error::ProgramLoad {
                    program: name.to_owned(),
                    source,
                    note: String::new(),
                    log: log_text(&log),
                });
            }
        }
    }
}

/// A verifier rejection of a call to a missing weak kfunc names the helper `unknown#N`: say
/// which kfunc that is (and that it is missing from this kernel).
fn explain_missing_kfunc(e: Error, externs: &Externs) -> Error {
    let Error::ProgramLoad { program, source, note, log } = e else { return e };
    let marker = "unknown#";
    let kfunc = log.match_indices(marker).find_map(|(at, _)| {
        let digits: String = log[at + marker.len()..].chars().take_while(char::is_ascii_digit).collect();
        digits.parse::<i64>().ok().and_then(|n| externs.missing_kfunc(n))
    });
    let note = match kfunc {
        Some(name) => format!("{note} (a reachable call of weak kfunc {name}, which this kernel does not have)"),
        None => note,
    };
    Error::ProgramLoad { program, source, note, log }
}
