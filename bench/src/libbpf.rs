//! The smallest safe wrapper over libbpf's BTF parser (`libbpf-sys`) needed to compare against
//! it. This is the benchmark's only module with `unsafe` code.

use std::ffi::{CStr, CString, c_void};
use std::marker::PhantomData;
use std::ptr::NonNull;

/// A `struct btf` owned by libbpf, freed on drop. `'base` ties a split BTF to its base, which
/// libbpf keeps a pointer to (a standalone BTF is `LibbpfBtf<'static>`).
pub struct LibbpfBtf<'base> {
    ptr: NonNull<libbpf_sys::btf>,
    _base: PhantomData<&'base ()>,
}

impl LibbpfBtf<'static> {
    /// `btf__new`: copies, parses and validates raw standalone BTF.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let size = size_u32(bytes)?;
        // SAFETY: `bytes` is valid for reads of `size` bytes for the duration of the call;
        // libbpf copies them into its own buffer (`btf_new`: malloc + memcpy) and keeps no
        // pointer into them.
        let ptr = unsafe { libbpf_sys::btf__new(bytes.as_ptr().cast::<c_void>(), size) };
        Self::from_raw(ptr, "btf__new")
    }
}

impl<'base> LibbpfBtf<'base> {
    /// `btf__new_split`: copies, parses and validates split BTF on top of `base`; the result
    /// borrows `base` (libbpf keeps a pointer to it).
    pub fn parse_split(bytes: &[u8], base: &'base LibbpfBtf<'_>) -> Result<Self, String> {
        let size = size_u32(bytes)?;
        // SAFETY: `bytes` as in `parse`. `base.ptr` is a live BTF object that the lifetime
        // `'base` keeps alive (and unfreed) for as long as the result exists. libbpf takes a
        // `*mut` but only reads the base while parsing and in later lookups; nothing we call
        // mutates it, so sharing one base between many splits is fine.
        let ptr = unsafe { libbpf_sys::btf__new_split(bytes.as_ptr().cast::<c_void>(), size, base.ptr.as_ptr()) };
        Self::from_raw(ptr, "btf__new_split")
    }

    fn from_raw(ptr: *mut libbpf_sys::btf, call: &str) -> Result<Self, String> {
        // libbpf 1.x returns NULL and sets errno on failure (no ERR_PTR in 1.x mode).
        match NonNull::new(ptr) {
            Some(ptr) => Ok(LibbpfBtf { ptr, _base: PhantomData }),
            None => Err(format!("libbpf {call} failed: {}", std::io::Error::last_os_error())),
        }
    }

    /// `btf__find_by_name_kind` (bases first, lowest id). `kind` is a `libbpf_sys::BTF_KIND_*`.
    pub fn find_by_name_kind(&self, name: &str, kind: u32) -> Option<u32> {
        self.find_by_c_name_kind(&CString::new(name).ok()?, kind)
    }

    /// [`find_by_name_kind`](Self::find_by_name_kind) with the name already NUL-terminated, as C
    /// callers have it (timed loops use this: converting the name is no part of libbpf's work).
    pub fn find_by_c_name_kind(&self, name: &CStr, kind: u32) -> Option<u32> {
        // SAFETY: `self.ptr` is a live BTF object (and so is its base, see `parse_split`);
        // `name` is a NUL-terminated string that outlives the call.
        let id = unsafe { libbpf_sys::btf__find_by_name_kind(self.ptr.as_ptr(), name.as_ptr(), kind) };
        u32::try_from(id).ok() // negative: -ENOENT
    }

    /// `btf__type_cnt`: one past the largest type id, bases included.
    pub fn type_count(&self) -> u32 {
        // SAFETY: `self.ptr` is a live BTF object.
        unsafe { libbpf_sys::btf__type_cnt(self.ptr.as_ptr()) }
    }
}

impl Drop for LibbpfBtf<'_> {
    fn drop(&mut self) {
        // SAFETY: we own the object (returned by btf__new or btf__new_split) and free it exactly
        // once. Freeing a split does not free its base; a base cannot be dropped while a split
        // borrows it.
        unsafe { libbpf_sys::btf__free(self.ptr.as_ptr()) }
    }
}

/// libbpf's version as it reports it at run time (e.g. `v1.7`).
pub fn version() -> String {
    // SAFETY: `libbpf_version_string` takes no arguments and returns a pointer to a static
    // NUL-terminated string (or, defensively, NULL, which we check).
    let ptr = unsafe { libbpf_sys::libbpf_version_string() };
    if ptr.is_null() {
        return "unknown".to_string();
    }
    // SAFETY: non-NULL, NUL-terminated and static, per libbpf's API.
    unsafe { CStr::from_ptr(ptr) }.to_string_lossy().into_owned()
}

fn size_u32(bytes: &[u8]) -> Result<u32, String> {
    u32::try_from(bytes.len()).map_err(|_| format!("{} bytes is too large for libbpf (u32 size)", bytes.len()))
}

/// A `struct bpf_object` opened by libbpf from memory (`bpf_object__open_mem`), closed on drop.
pub struct LibbpfObject {
    ptr: NonNull<libbpf_sys::bpf_object>,
}

impl LibbpfObject {
    /// `bpf_object__open_mem` with the object name set (as libbpf would derive it from a path).
    pub fn open_mem(bytes: &[u8], name: &CStr) -> Result<Self, String> {
        Self::open_with(bytes, name, |_| {})
    }

    /// `bpf_object__open_mem` with the object name set and whatever else `configure` sets in
    /// the options (pointers it stores must outlive the call; libbpf copies what it keeps).
    fn open_with(
        bytes: &[u8],
        name: &CStr,
        configure: impl FnOnce(&mut libbpf_sys::bpf_object_open_opts),
    ) -> Result<Self, String> {
        // SAFETY: a zeroed opts struct is libbpf's documented default; `sz` tells it the size.
        let mut opts: libbpf_sys::bpf_object_open_opts = unsafe { std::mem::zeroed() };
        opts.sz = std::mem::size_of::<libbpf_sys::bpf_object_open_opts>() as libbpf_sys::size_t;
        opts.object_name = name.as_ptr();
        configure(&mut opts);
        // SAFETY: `bytes` is valid for reads of its length during the call; libbpf copies what
        // it keeps (it duplicates the buffer for in-memory objects, strdup()s the strings the
        // options point to). `opts`, `name` and those strings outlive the call.
        let ptr = unsafe {
            libbpf_sys::bpf_object__open_mem(bytes.as_ptr().cast::<c_void>(), bytes.len() as libbpf_sys::size_t, &opts)
        };
        match NonNull::new(ptr) {
            Some(ptr) => Ok(LibbpfObject { ptr }),
            None => Err(format!("libbpf bpf_object__open_mem failed: {}", std::io::Error::last_os_error())),
        }
    }

    /// Number of programs libbpf found.
    pub fn program_count(&self) -> usize {
        let mut count = 0;
        let mut prog = std::ptr::null_mut();
        loop {
            // SAFETY: a live object; `prog` is NULL or a program of this object returned by the
            // previous call.
            prog = unsafe { libbpf_sys::bpf_object__next_program(self.ptr.as_ptr(), prog) };
            if prog.is_null() {
                return count;
            }
            count += 1;
        }
    }

    /// Number of maps libbpf found (global data maps included).
    pub fn map_count(&self) -> usize {
        let mut count = 0;
        let mut map: *mut libbpf_sys::bpf_map = std::ptr::null_mut();
        loop {
            // SAFETY: as in `program_count`, for maps.
            map = unsafe { libbpf_sys::bpf_object__next_map(self.ptr.as_ptr(), map) };
            if map.is_null() {
                return count;
            }
            count += 1;
        }
    }
}

impl Drop for LibbpfObject {
    fn drop(&mut self) {
        // SAFETY: we own the object and close it exactly once.
        unsafe { libbpf_sys::bpf_object__close(self.ptr.as_ptr()) }
    }
}

impl LibbpfObject {
    /// `bpf_object__open_mem` with a pin root for `LIBBPF_PIN_BY_NAME` maps, then
    /// `bpf_object__load`: what a libbpf application does to get an object into the kernel.
    pub fn open_and_load(bytes: &[u8], name: &CStr, pin_root: &CStr) -> Result<Self, String> {
        let obj = Self::open_with(bytes, name, |opts| opts.pin_root_path = pin_root.as_ptr())?;
        // SAFETY: a live object we own; libbpf loads it in place.
        let err = unsafe { libbpf_sys::bpf_object__load(obj.ptr.as_ptr()) };
        if err != 0 {
            return Err(format!("libbpf bpf_object__load failed: {}", std::io::Error::from_raw_os_error(-err)));
        }
        Ok(obj)
    }

    /// `bpf_object__open_mem` with `btf_custom_path` (the BTF CO-RE relocates against), then
    /// `bpf_object__prepare`: everything a load does short of loading the programs (CO-RE and
    /// extern relocation, and also the object's BTF loaded and its maps created).
    pub fn open_and_prepare(bytes: &[u8], name: &CStr, btf_path: &CStr) -> Result<Self, String> {
        let obj = Self::open_with(bytes, name, |opts| opts.btf_custom_path = btf_path.as_ptr())?;
        // SAFETY: a live object we own; libbpf prepares it in place.
        let err = unsafe { libbpf_sys::bpf_object__prepare(obj.ptr.as_ptr()) };
        if err != 0 {
            return Err(format!("libbpf bpf_object__prepare failed: {}", std::io::Error::from_raw_os_error(-err)));
        }
        Ok(obj)
    }
}

/// Silences libbpf's stderr logging (its load warnings would flood the benchmark's output).
pub fn silence() {
    // SAFETY: a NULL print callback is libbpf's documented way to turn its logging off.
    unsafe { libbpf_sys::libbpf_set_print(None) };
}
