//! libbpf as an oracle for bpfkit's differential tests (dev only, never published): what libbpf
//! makes of an object's instructions once it has relocated them itself — CO-RE against a BTF
//! file of the caller's choice, global data and maps, subprograms appended — without loading any
//! program.
//!
//! How: `bpf_object__open_mem` with `btf_custom_path` set to the target BTF, then
//! `bpf_object__prepare` (libbpf >= 1.6), which does everything `bpf_object__load` does up to,
//! but not including, loading the programs; afterwards `bpf_program__insns` holds each program's
//! final instructions (its own, then its subprograms, the way libbpf links them).
//!
//! # What prepare does in the kernel
//!
//! `bpf_object__prepare` is not side-effect free, so relocating needs the privileges of a load
//! (root or CAP_BPF + CAP_PERFMON); without them it fails with `EPERM` and the error says so.
//! libbpf probes the kernel by loading a two-instruction program (and a few feature probes),
//! closed at once; it loads the object's BTF and **creates the object's maps** (global data
//! included, `.rodata` frozen). All of those are owned by the `bpf_object`, which is closed
//! before [`relocate`] returns, so nothing outlives the call. CO-RE uses only the file given as
//! `btf` (no kernel module BTF: libbpf searches modules only when it relocates against the
//! running kernel's own BTF). The host's `/sys/kernel/btf/vmlinux` is still read when the object
//! needs it for something other than CO-RE (typed `__ksym` externs, `tp_btf`/`fentry`/`lsm`
//! targets are resolved at load time, so not here).
//!
//! # Map references
//!
//! libbpf writes the fd of each map into its `ld_imm64` instructions. Those fds are closed by
//! the time [`relocate`] returns, so the oracle rewrites them to something stable: for every
//! `ld_imm64` whose `src_reg` is `BPF_PSEUDO_MAP_FD` (1: the map itself) or
//! `BPF_PSEUDO_MAP_VALUE` (2: an address inside the map's value, global data), `insns[i].imm`
//! is the **map's index in libbpf's map order** ([`Relocation::maps`] names them: libbpf's
//! names, e.g. `core.bss` for an object named `core`), and `insns[i + 1].imm` is what libbpf put
//! there: the byte offset in the value for `BPF_PSEUDO_MAP_VALUE` (the variable's offset plus
//! the addend clang left in the instruction), 0 for `BPF_PSEUDO_MAP_FD`. Both halves keep every
//! other field as libbpf set it (`code` 0x18, `dst_reg`). A comparing test masks `imm` of both
//! halves (or checks them against its own map table) and `src_reg` of the first.
//!
//! # Poisoned relocations
//!
//! A CO-RE relocation that libbpf cannot resolve (no candidate has the field, type or enum
//! value, and the relocation is not an existence check) poisons its instruction instead of
//! failing: the instruction becomes `call 0xbad2310`, i.e. `code = BPF_JMP | BPF_CALL` (0x85),
//! `dst_reg = src_reg = 0`, `off = 0`, `imm = 195896080`, bytes
//! `85 00 00 00 10 23 ad 0b`. For an `ld_imm64` both halves are replaced that way (so the second
//! half is a `call` too, not an `ld_imm64` continuation). The verifier rejects it only if it is
//! reachable (`invalid func unknown#195896080`). Existence relocations (field exists, type
//! exists, enum value exists, type matches) resolve to 0 instead. A map `ld_imm64` of a map that
//! is not created (autocreate off) is poisoned differently by libbpf (`imm = 2001000000 + map
//! index`); the fixtures have none.
//!
//! # libbpf's log
//!
//! [`relocate_with_log`] also returns everything libbpf printed meanwhile, debug level
//! included: per CO-RE relocation `libbpf: prog 'NAME': relo #N: <kind> [id] spec ...`, its
//! candidates, then `patched insn #I (ALU/ALU64) imm A -> B` (or `off`, `imm64`) or
//! `substituting insn #I w/ invalid insn` (poison). `prog` is the function the relocation is in
//! (a subprogram is relocated once under its own name, before being appended to each caller), and
//! `#I` counts instructions from that function's start. libbpf's print callback is process-wide,
//! so calls into this crate are serialised and the previous callback is restored afterwards.

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr::NonNull;
use std::sync::Mutex;

/// libbpf's view of one program after its own relocation (CO-RE included) against the target
/// BTF, without loading anything into the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibbpfProgram {
    /// The program's (function's) name.
    pub name: String,
    /// Its ELF section (`SEC()` name).
    pub section: String,
    /// The final instructions, raw little-endian `struct bpf_insn` (the program's function, then
    /// the subprograms libbpf appended), with map references as the crate docs describe.
    pub insns: Vec<[u8; 8]>,
}

/// Everything the oracle learnt from one relocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relocation {
    /// The programs, in libbpf's order (ELF section order, then function order).
    pub programs: Vec<LibbpfProgram>,
    /// libbpf's maps by index, as the map `ld_imm64` instructions of [`LibbpfProgram::insns`]
    /// refer to them (libbpf's names: `OBJNAME.bss`, `OBJNAME.rodata`, ... for global data).
    pub maps: Vec<String>,
    /// What libbpf printed (all levels, debug included), line by line as it printed it.
    pub log: String,
}

/// `call 0xbad2310`'s immediate: libbpf's poisoned CO-RE instruction.
pub const POISON_IMM: i32 = 195_896_080;
/// `BPF_JMP | BPF_CALL`, the opcode of a poisoned instruction.
pub const POISON_CODE: u8 = 0x85;
/// `ld_imm64`'s opcode (`BPF_LD | BPF_IMM | BPF_DW`).
pub const LD_IMM64: u8 = 0x18;
/// `src_reg` of an `ld_imm64` of a map (its fd; here its index).
pub const PSEUDO_MAP_FD: u8 = 1;
/// `src_reg` of an `ld_imm64` of an address in a map's value (its fd, here its index; offset in
/// the second half).
pub const PSEUDO_MAP_VALUE: u8 = 2;

/// Relocates `object` (a BPF ELF object, named `object_name` as libbpf would name it after its
/// file: `core` for `core.bpf.o`) with libbpf against the BTF at `btf` (raw BTF or an ELF file
/// with `.BTF`, used as `btf_custom_path`), without loading programs; see the crate docs for
/// what the instructions hold and what this does in the kernel.
pub fn relocate(object: &[u8], object_name: &str, btf: &Path) -> Result<Vec<LibbpfProgram>, String> {
    relocate_full(object, object_name, btf).map(|r| r.programs)
}

/// [`relocate`], also returning libbpf's log (debug level; CO-RE decisions are the
/// `libbpf: prog '...': relo #N: ...` lines). On failure the error ends with the log.
pub fn relocate_with_log(object: &[u8], object_name: &str, btf: &Path) -> Result<(Vec<LibbpfProgram>, String), String> {
    relocate_full(object, object_name, btf).map(|r| (r.programs, r.log))
}

/// [`relocate_with_log`] with the map table as well.
pub fn relocate_full(object: &[u8], object_name: &str, btf: &Path) -> Result<Relocation, String> {
    // One relocation at a time: libbpf's print callback (and so LOG) is process-wide.
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    take_log();
    // SAFETY: `capture` has the signature libbpf expects and may be called from any thread;
    // libbpf stores the pointer in a global, which we restore below.
    let previous = unsafe { libbpf_sys::libbpf_set_print(Some(capture)) };
    let result = relocate_inner(object, object_name, btf);
    // SAFETY: restores whatever callback (or NULL) was installed before.
    unsafe { libbpf_sys::libbpf_set_print(previous) };
    let log = take_log();
    match result {
        Ok((programs, maps)) => Ok(Relocation { programs, maps, log }),
        Err(e) => Err(format!("{e}\n--- libbpf's log ---\n{log}")),
    }
}

fn relocate_inner(object: &[u8], object_name: &str, btf: &Path) -> Result<(Vec<LibbpfProgram>, Vec<String>), String> {
    let name = CString::new(object_name).map_err(|_| format!("object name {object_name:?} contains NUL"))?;
    let btf_path =
        CString::new(btf.as_os_str().as_bytes()).map_err(|_| format!("BTF path {} contains NUL", btf.display()))?;
    if !btf.exists() {
        return Err(format!("{}: no such file", btf.display()));
    }
    let obj = Object::open(object, &name, &btf_path)?;
    // SAFETY: a live object we own, opened and not yet prepared or loaded.
    let err = unsafe { libbpf_sys::bpf_object__prepare(obj.ptr.as_ptr()) };
    if err != 0 {
        let error = std::io::Error::from_raw_os_error(-err);
        let hint = if -err == libc_eperm() { " (needs root or CAP_BPF: prepare creates maps)" } else { "" };
        return Err(format!("libbpf bpf_object__prepare failed: {error}{hint}"));
    }
    let maps = obj.maps();
    let mut programs = Vec::new();
    let mut prog: *mut libbpf_sys::bpf_program = std::ptr::null_mut();
    loop {
        // SAFETY: a live object; `prog` is NULL or a program of this object returned by the
        // previous call.
        prog = unsafe { libbpf_sys::bpf_object__next_program(obj.ptr.as_ptr(), prog) };
        if prog.is_null() {
            break;
        }
        // SAFETY: `prog` is a live program of `obj`; libbpf returns pointers to NUL-terminated
        // strings it owns (valid until the object is closed, which happens after we copy them)
        // or NULL, which `c_str` checks.
        let (name, section) =
            unsafe { (c_str(libbpf_sys::bpf_program__name(prog)), c_str(libbpf_sys::bpf_program__section_name(prog))) };
        // SAFETY: `prog` is a live program of `obj`.
        let (ptr, count) = unsafe { (libbpf_sys::bpf_program__insns(prog), libbpf_sys::bpf_program__insn_cnt(prog)) };
        let count = usize::try_from(count).map_err(|_| format!("program {name}: {count} instructions"))?;
        let mut insns: Vec<[u8; 8]> = if count == 0 || ptr.is_null() {
            Vec::new()
        } else {
            // SAFETY: libbpf's `prog->insns` array holds `insn_cnt` `struct bpf_insn` (8 bytes,
            // no padding: u8, two 4-bit fields in one u8, s16, s32) and stays valid and unchanged
            // until the object is loaded or closed; `[u8; 8]` has alignment 1, and we copy the
            // bytes out before closing.
            unsafe { std::slice::from_raw_parts(ptr.cast::<[u8; 8]>(), count) }.to_vec()
        };
        normalise_map_refs(&name, &mut insns, &maps)?;
        programs.push(LibbpfProgram { name, section, insns });
    }
    Ok((programs, maps.into_iter().map(|(name, _)| name).collect()))
}

/// Replaces the (soon closed) map fds in map `ld_imm64`s by the map's index in `maps`.
fn normalise_map_refs(program: &str, insns: &mut [[u8; 8]], maps: &[(String, i32)]) -> Result<(), String> {
    let mut i = 0;
    while i < insns.len() {
        let insn = insns[i];
        if insn[0] != LD_IMM64 {
            i += 1;
            continue;
        }
        let src = insn[1] >> 4;
        if src == PSEUDO_MAP_FD || src == PSEUDO_MAP_VALUE {
            let fd = i32::from_le_bytes([insn[4], insn[5], insn[6], insn[7]]);
            let index = maps.iter().position(|(_, map_fd)| *map_fd == fd).ok_or_else(|| {
                format!(
                    "program {program}: ld_imm64 at instruction {i} refers to fd {fd}, which is no map of the object"
                )
            })?;
            insns[i][4..8].copy_from_slice(&(index as i32).to_le_bytes());
        }
        i += 2;
    }
    Ok(())
}

/// A `struct bpf_object` opened by libbpf, closed on drop (its maps and BTF fds with it).
struct Object {
    ptr: NonNull<libbpf_sys::bpf_object>,
}

impl Object {
    fn open(bytes: &[u8], name: &CStr, btf_path: &CStr) -> Result<Object, String> {
        // SAFETY: a zeroed opts struct is libbpf's documented default; `sz` tells it the size.
        let mut opts: libbpf_sys::bpf_object_open_opts = unsafe { std::mem::zeroed() };
        opts.sz = std::mem::size_of::<libbpf_sys::bpf_object_open_opts>() as libbpf_sys::size_t;
        opts.object_name = name.as_ptr();
        opts.btf_custom_path = btf_path.as_ptr();
        // SAFETY: `bytes` is valid for reads of its length during the call; libbpf copies what it
        // keeps (it duplicates the buffer of an in-memory object) and strdup()s the name and the
        // BTF path, so `opts`, `name` and `btf_path` need to outlive only the call.
        let ptr = unsafe {
            libbpf_sys::bpf_object__open_mem(bytes.as_ptr().cast::<c_void>(), bytes.len() as libbpf_sys::size_t, &opts)
        };
        match NonNull::new(ptr) {
            Some(ptr) => Ok(Object { ptr }),
            None => Err(format!("libbpf bpf_object__open_mem failed: {}", std::io::Error::last_os_error())),
        }
    }

    /// (name, fd) of every map, in libbpf's order.
    fn maps(&self) -> Vec<(String, i32)> {
        let mut maps = Vec::new();
        let mut map: *mut libbpf_sys::bpf_map = std::ptr::null_mut();
        loop {
            // SAFETY: a live object; `map` is NULL or a map of this object returned by the
            // previous call.
            map = unsafe { libbpf_sys::bpf_object__next_map(self.ptr.as_ptr(), map) };
            if map.is_null() {
                return maps;
            }
            // SAFETY: `map` is a live map of this object; the name is a NUL-terminated string it
            // owns (or NULL, checked by `c_str`), copied before the object is closed.
            let (name, fd) = unsafe { (c_str(libbpf_sys::bpf_map__name(map)), libbpf_sys::bpf_map__fd(map)) };
            maps.push((name, fd));
        }
    }
}

impl Drop for Object {
    fn drop(&mut self) {
        // SAFETY: we own the object and close it exactly once; this closes the maps and BTF it
        // created in the kernel.
        unsafe { libbpf_sys::bpf_object__close(self.ptr.as_ptr()) }
    }
}

/// Copies a C string owned by libbpf (`""` for NULL).
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string valid for the duration of the call.
unsafe fn c_str(ptr: *const c_char) -> String {
    if ptr.is_null() {
        return String::new();
    }
    // SAFETY: non-NULL and NUL-terminated, per this function's contract.
    unsafe { CStr::from_ptr(ptr) }.to_string_lossy().into_owned()
}

fn libc_eperm() -> i32 {
    1 // EPERM on Linux
}

/// Serialises relocations (the print callback is process-wide).
static SERIAL: Mutex<()> = Mutex::new(());
/// What libbpf printed during the current relocation.
static LOG: Mutex<String> = Mutex::new(String::new());

fn take_log() -> String {
    std::mem::take(&mut *LOG.lock().unwrap_or_else(|e| e.into_inner()))
}

unsafe extern "C" {
    /// The C library's `vsnprintf` (libbpf hands its callback a format and a `va_list`).
    fn vsnprintf(buf: *mut c_char, size: usize, format: *const c_char, ap: *mut libbpf_sys::__va_list_tag) -> c_int;
}

/// libbpf's print callback: formats the message and appends it to [`LOG`]. Never panics (it is
/// called from C).
unsafe extern "C" fn capture(
    _level: libbpf_sys::libbpf_print_level,
    format: *const c_char,
    ap: *mut libbpf_sys::__va_list_tag,
) -> c_int {
    const SIZE: usize = 8192;
    if format.is_null() {
        return 0;
    }
    let mut buf = [0 as c_char; SIZE];
    // SAFETY: `buf` is writable for SIZE bytes and vsnprintf writes at most that many, NUL
    // included; `format` and `ap` are the format string and argument list libbpf passes for
    // exactly this use, consumed once here.
    let written = unsafe { vsnprintf(buf.as_mut_ptr(), SIZE, format, ap) };
    if written < 0 {
        return written;
    }
    // SAFETY: vsnprintf NUL-terminated `buf` (SIZE > 0).
    let text = unsafe { CStr::from_ptr(buf.as_ptr()) }.to_string_lossy();
    let mut log = LOG.lock().unwrap_or_else(|e| e.into_inner());
    log.push_str(&text);
    if written as usize >= SIZE {
        log.push_str(" [line truncated by bpfkit-oracle]\n");
    }
    written
}
