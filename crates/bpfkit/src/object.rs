//! The user-facing object lifecycle, as libbpf-rs users know it: [`OpenObject`] (parsed, not yet
//! in the kernel: set globals, map sizes, autoload) → [`OpenObject::load`] → [`Object`] (maps and
//! programs in the kernel, found by name) → attach programs, read maps.
//!
//! ```no_run
//! let mut open = bpfkit::OpenObject::open("bpf/minimal.bpf.o")?;
//! open.set_global_as("target_tgid", &std::process::id())?;
//! let obj = open.load()?;
//! let _link = obj.program("count_getpid")?.attach()?;
//! let hits: u64 = obj.global_as("hits")?;
//! # Ok::<(), bpfkit::Error>(())
//! ```

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use bpfkit_obj::{DataKind, GlobalVar, MapKind};

use crate::error::{Error, Result};
use crate::externs::ExternOptions;
use crate::link::Link;
use crate::load;
use crate::map::Map;
use crate::pin::DEFAULT_PIN_ROOT;
use crate::program::Program;
use crate::sys::pod::{Pod, bytes_of, from_bytes};

/// An object read from its ELF file, not yet loaded: everything can still be changed.
#[derive(Debug, Clone)]
pub struct OpenObject {
    model: bpfkit_obj::Object,
    options: LoadOptions,
}

/// How an [`OpenObject`] is to be loaded (everything but the object itself).
#[derive(Debug, Clone)]
pub(crate) struct LoadOptions {
    /// Where `LIBBPF_PIN_BY_NAME` maps live.
    pub pin_root: PathBuf,
    /// A BTF file to relocate CO-RE accesses against instead of the running kernel's.
    pub kernel_btf: Option<PathBuf>,
    /// Extern overrides.
    pub externs: ExternOptions,
    /// Fail when the kernel refuses the object's BTF, instead of loading without it.
    pub require_btf: bool,
}

impl OpenObject {
    /// Reads and prepares the object file at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<OpenObject> {
        Ok(Self::from_model(bpfkit_obj::Object::open(path)?))
    }

    /// Prepares object `bytes`, naming it `name` (global data maps are named after it).
    pub fn from_bytes(name: &str, bytes: &[u8]) -> Result<OpenObject> {
        Ok(Self::from_model(bpfkit_obj::Object::parse(name, bytes)?))
    }

    /// Wraps an object model prepared by `bpfkit-obj`.
    pub fn from_model(model: bpfkit_obj::Object) -> OpenObject {
        OpenObject {
            model,
            options: LoadOptions {
                pin_root: PathBuf::from(DEFAULT_PIN_ROOT),
                kernel_btf: None,
                externs: ExternOptions::default(),
                require_btf: false,
            },
        }
    }

    /// The object model (programs, maps, BTF, relocations).
    pub fn model(&self) -> &bpfkit_obj::Object {
        &self.model
    }

    /// The object model, to change anything before load.
    pub fn model_mut(&mut self) -> &mut bpfkit_obj::Object {
        &mut self.model
    }

    /// The object's name.
    pub fn name(&self) -> &str {
        &self.model.name
    }

    /// Sets global variable `name` (`.rodata` knobs included) to `value`, which must have its size.
    pub fn set_global(&mut self, name: &str, value: &[u8]) -> Result<()> {
        Ok(self.model.set_global(name, value)?)
    }

    /// Sets global variable `name` to `value`.
    pub fn set_global_as<T: Pod>(&mut self, name: &str, value: &T) -> Result<()> {
        self.set_global(name, bytes_of(value))
    }

    /// Resizes global data section `map` (`.data.NAME`, ...) to `size` bytes before load, as
    /// libbpf's `bpf_map__set_value_size` does: the section's last variable, an array, grows or
    /// shrinks with it (scx's `RESIZABLE_ARRAY`), and what was set in it so far is kept.
    pub fn resize_data(&mut self, map: &str, size: u32) -> Result<()> {
        Ok(self.model.resize_data(map, size)?)
    }

    /// The map named `name`, to change its definition (`def.max_entries`, flags) or `autocreate`.
    pub fn map_mut(&mut self, name: &str) -> Result<&mut bpfkit_obj::Map> {
        if self.model.map(name).is_none() {
            return Err(Error::not_found("map", name, self.model.maps.iter().map(|m| m.name.as_str())));
        }
        self.model.map_mut(name).ok_or_else(|| Error::not_found("map", name, []))
    }

    /// The program named `name`, to change `autoload` or its kind.
    pub fn program_mut(&mut self, name: &str) -> Result<&mut bpfkit_obj::Program> {
        if self.model.program(name).is_none() {
            return Err(Error::not_found("program", name, self.model.programs.iter().map(|p| p.name.as_str())));
        }
        self.model.program_mut(name).ok_or_else(|| Error::not_found("program", name, []))
    }

    /// Sets `autoload` of every program but those in `names`.
    pub fn load_only(&mut self, names: &[&str]) -> Result<()> {
        for name in names {
            self.program_mut(name)?;
        }
        for p in &mut self.model.programs {
            p.autoload = names.contains(&p.name.as_str());
        }
        Ok(())
    }

    /// Where `LIBBPF_PIN_BY_NAME` maps are pinned and looked for (default `/sys/fs/bpf`).
    pub fn set_pin_root(&mut self, root: impl Into<PathBuf>) {
        self.options.pin_root = root.into();
    }

    /// Whether the kernel must take the object's BTF. By default, as libbpf does, an object
    /// whose BTF this kernel refuses is loaded without it (its maps without BTF types, its
    /// programs without function and line info) unless it has struct_ops maps, which cannot do
    /// without; the refusal, with the kernel's reason, is then in [`Object::warnings`] and in
    /// the log. With `true`, the refusal fails the load ([`Error::BtfLoad`]).
    pub fn require_btf(&mut self, required: bool) {
        self.options.require_btf = required;
    }

    /// Relocate CO-RE accesses against the BTF in `path` (raw BTF or an ELF with `.BTF`) instead
    /// of the running kernel's, as libbpf's `btf_custom_path` does: for kernels without
    /// `/sys/kernel/btf`. Module BTF is not searched then; attach targets still come from the
    /// running kernel.
    pub fn set_kernel_btf(&mut self, path: impl Into<PathBuf>) {
        self.options.kernel_btf = Some(path.into());
    }

    /// Sets the value a `__kconfig` extern gets (`CONFIG_HZ` = `"1000"`, `CONFIG_X` = `"y"`,
    /// `LINUX_KERNEL_VERSION` = a number), in the kernel config file's syntax, instead of the
    /// running kernel's.
    pub fn set_kconfig(&mut self, name: &str, value: &str) {
        self.options.externs.kconfig.insert(name.to_owned(), value.to_owned());
    }

    /// Requires kernel symbol `symbol` (a kfunc or variable; its name without flavour) to come
    /// from module `module`: for a name several loaded modules define, which is otherwise an
    /// error.
    pub fn set_extern_module(&mut self, symbol: &str, module: &str) {
        self.options.externs.modules.insert(symbol.to_owned(), module.to_owned());
    }

    /// The bytes of member `member` of struct_ops variable `map` (its initial value, as the
    /// object defines it or as changed since).
    pub fn struct_ops_field(&self, map: &str, member: &str) -> Result<&[u8]> {
        let (m, off, size) = self.struct_ops_member(map, member)?;
        let m = &self.model.maps[m];
        m.data.get(off..off + size).ok_or_else(|| Error::not_found("struct_ops member", member, []))
    }

    /// Sets member `member` (a scalar or array such as `name`, `flags`, `timeout_ms`) of
    /// struct_ops variable `map` before load; `value` must have the member's size.
    pub fn set_struct_ops_field(&mut self, map: &str, member: &str, value: &[u8]) -> Result<()> {
        let (m, off, size) = self.struct_ops_member(map, member)?;
        if value.len() != size {
            return Err(Error::MapOp {
                map: map.to_owned(),
                op: "set struct_ops member",
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("{member} is {size} bytes, got {}", value.len()),
                ),
            });
        }
        let slot = off.checked_add(size).and_then(|end| self.model.maps[m].data.get_mut(off..end));
        slot.ok_or_else(|| Error::not_found("struct_ops member inside the variable's data", member, []))?
            .copy_from_slice(value);
        Ok(())
    }

    /// Points function member `member` of struct_ops variable `map` at `program` (a struct_ops
    /// program of the object), or clears it (`None`), before load. The program it pointed at
    /// before is then not loaded, unless a member of a created map still points at it.
    pub fn set_struct_ops_program(&mut self, map: &str, member: &str, program: Option<&str>) -> Result<()> {
        let (m, off, _) = self.struct_ops_member(map, member)?;
        if let Some(p) = program {
            self.program_mut(p)?;
        }
        let bpfkit_obj::MapKind::StructOps { funcs, .. } = &mut self.model.maps[m].kind else {
            return Err(Error::not_found("struct_ops map", map, []));
        };
        let unhooked: Vec<String> = funcs
            .iter()
            .filter(|f| f.member == member && Some(f.program.as_str()) != program)
            .map(|f| f.program.clone())
            .collect();
        funcs.retain(|f| f.member != member);
        if let Some(p) = program {
            funcs.push(bpfkit_obj::OpsFunc { member: member.to_owned(), offset: off as u32, program: p.to_owned() });
        }
        // The program the member pointed at is not loaded any more, unless another member of
        // a created map still points at it (decided at load), as libbpf does.
        for name in unhooked {
            if let Some(p) = self.model.program_mut(&name) {
                p.autoload = false;
            }
        }
        Ok(())
    }

    /// (map index, byte offset, size) of a struct_ops variable's member, by name.
    fn struct_ops_member(&self, map: &str, member: &str) -> Result<(usize, usize, usize)> {
        let index = self
            .model
            .maps
            .iter()
            .position(|m| m.name == map && matches!(m.kind, bpfkit_obj::MapKind::StructOps { .. }))
            .ok_or_else(|| Error::not_found("struct_ops map", map, self.model.maps.iter().map(|m| m.name.as_str())))?;
        let btf = self.model.btf.as_deref().ok_or_else(|| Error::not_found("BTF of struct_ops map", map, []))?;
        let ty = self.model.maps[index].def.btf_value_type.ok_or_else(|| Error::not_found("BTF type of", map, []))?;
        let found = btf.find_member(ty, member)?.ok_or_else(|| Error::not_found("struct_ops member", member, []))?;
        let parent = btf.type_by_id(found.parent)?;
        let m = parent.members().get(found.index).ok_or_else(|| Error::not_found("struct_ops member", member, []))?;
        let size = btf.size_of(m.ty)? as usize;
        Ok((index, (found.bit_offset / 8) as usize, size))
    }

    /// The object's externs (`__ksym` kfuncs and variables, `__kconfig` values).
    pub fn externs(&self) -> &[bpfkit_obj::Extern] {
        &self.model.externs
    }

    /// Creates the maps and loads the programs into the kernel.
    pub fn load(self) -> Result<Object> {
        load::load(self.model, &self.options)
    }
}

/// A loaded object: its maps and programs live in the kernel until this (and every link) drops.
#[derive(Debug)]
pub struct Object {
    name: String,
    btf_fd: Option<OwnedFd>,
    /// One entry per map of the model (in its order), `None` when not created.
    maps: Vec<Option<Map>>,
    programs: Vec<Program>,
    globals: Vec<GlobalVar>,
    /// Which maps are `.rodata` (frozen: read-only from user space too).
    rodata: Vec<bool>,
    warnings: Vec<String>,
}

impl Object {
    /// The loaded object, taking its names from `model` (which ends here).
    pub(crate) fn new(
        mut model: bpfkit_obj::Object,
        btf_fd: Option<OwnedFd>,
        maps: Vec<Option<Map>>,
        programs: Vec<crate::load::LoadedProgram>,
        warnings: Vec<String>,
    ) -> Object {
        let rodata =
            model.maps.iter().map(|m| matches!(m.kind, MapKind::Data(DataKind::Rodata | DataKind::Kconfig))).collect();
        let programs = programs
            .into_iter()
            .map(|loaded| {
                let p = &mut model.programs[loaded.index];
                let (name, section) = (std::mem::take(&mut p.name), std::mem::take(&mut p.section));
                Program { name, section, kind: loaded.kind, fd: loaded.fd }
            })
            .collect();
        let globals = model.take_globals();
        Object { name: std::mem::take(&mut model.name), btf_fd, maps, programs, globals, rodata, warnings }
    }

    /// The object's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the load did differently from what the object asks, worth telling its user: the
    /// kernel refused the object's BTF and it was loaded without (see
    /// [`OpenObject::require_btf`]). Empty when everything went as declared.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The object's BTF as loaded into the kernel.
    pub fn btf_fd(&self) -> Option<BorrowedFd<'_>> {
        self.btf_fd.as_ref().map(|fd| fd.as_fd())
    }

    /// The created maps.
    pub fn maps(&self) -> impl Iterator<Item = &Map> {
        self.maps.iter().flatten()
    }

    /// The map named `name`.
    pub fn map(&self, name: &str) -> Result<&Map> {
        self.maps().find(|m| m.name == name).ok_or_else(|| Error::not_found("map", name, self.maps().map(Map::name)))
    }

    /// The loaded programs.
    pub fn programs(&self) -> impl Iterator<Item = &Program> {
        self.programs.iter()
    }

    /// The program named `name`.
    pub fn program(&self, name: &str) -> Result<&Program> {
        self.programs
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| Error::not_found("program", name, self.programs.iter().map(Program::name)))
    }

    fn var(&self, name: &str) -> Result<(&GlobalVar, &Map)> {
        let map_name = |i: usize| self.maps.get(i).and_then(Option::as_ref).map_or("?", |m| m.name.as_str());
        let var = GlobalVar::find(&self.globals, name, map_name).map_err(|e| match e {
            bpfkit_obj::ObjError::NotFound { .. } => {
                Error::not_found("global variable", name, self.globals.iter().map(|g| g.name.as_str()))
            }
            other => Error::Object(other),
        })?;
        let map = self.maps.get(var.map).and_then(Option::as_ref).ok_or_else(|| Error::NotFound {
            what: "map of global variable",
            name: name.to_owned(),
            hint: " (its section's map was not created)".into(),
        })?;
        Ok((var, map))
    }

    /// The object's global variables (`.data`, `.bss`, `.rodata`, ...): names, sizes, places.
    pub fn globals(&self) -> &[GlobalVar] {
        &self.globals
    }

    /// Whether global variable `name` is in a frozen `.rodata` section.
    pub fn is_rodata(&self, name: &str) -> bool {
        self.globals.iter().find(|g| g.name == name).is_some_and(|g| self.rodata.get(g.map).copied().unwrap_or(false))
    }

    /// The current bytes of global variable `name`, as programs see them.
    pub fn global(&self, name: &str) -> Result<Vec<u8>> {
        let (var, map) = self.var(name)?;
        map.read_data(var.offset as usize, var.size as usize)
    }

    /// Global variable `name` as a `T` (which must have its size).
    pub fn global_as<T: Pod>(&self, name: &str) -> Result<T> {
        let bytes = self.global(name)?;
        if bytes.len() != std::mem::size_of::<T>() {
            return Err(Error::NotFound {
                what: "global variable of that size",
                name: name.to_owned(),
                hint: format!(" (it is {} bytes, the type {})", bytes.len(), std::mem::size_of::<T>()),
            });
        }
        from_bytes(&bytes).ok_or_else(|| Error::not_found("global variable", name, []))
    }

    /// Changes global variable `name` while programs run (not `.rodata`, which is frozen).
    pub fn set_global(&self, name: &str, value: &[u8]) -> Result<()> {
        let (var, map) = self.var(name)?;
        if self.rodata.get(var.map).copied().unwrap_or(false) {
            return Err(Error::MapOp {
                map: map.name.clone(),
                op: "write",
                source: std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    format!("{name} is in .rodata, frozen at load (set it on the OpenObject instead)"),
                ),
            });
        }
        if value.len() != var.size as usize {
            return Err(Error::MapOp {
                map: map.name.clone(),
                op: "write",
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("{name} is {} bytes, got {}", var.size, value.len()),
                ),
            });
        }
        map.write_data(var.offset as usize, value, true)
    }

    /// Changes global variable `name` to `value`.
    pub fn set_global_as<T: Pod>(&self, name: &str, value: &T) -> Result<()> {
        self.set_global(name, bytes_of(value))
    }

    /// Attaches every program whose section names its attach point (see [`Program::attach`]);
    /// programs that need a target (XDP, tc, cgroup, socket, iterators, syscall) are skipped.
    pub fn attach_all(&self) -> Result<Vec<Link>> {
        let mut links = Vec::new();
        for p in &self.programs {
            if crate::program::auto_attachable(p) {
                links.push(p.attach()?);
            }
        }
        Ok(links)
    }
}
