//! The smallest safe wrapper over libbpf's BTF parser needed to compare against it.

use std::ffi::{CString, c_void};
use std::ptr::NonNull;

/// A `struct btf` owned by libbpf, freed on drop.
pub struct LibbpfBtf(NonNull<libbpf_sys::btf>);

impl LibbpfBtf {
    /// `btf__new`: parses (copies) raw BTF.
    pub fn parse(bytes: &[u8]) -> Option<LibbpfBtf> {
        // SAFETY: libbpf reads `size` bytes from the pointer and copies them; the slice outlives
        // the call.
        let ptr = unsafe { libbpf_sys::btf__new(bytes.as_ptr() as *const c_void, bytes.len() as u32) };
        Self::from_result(ptr)
    }

    /// `btf__new_split`: parses split BTF on top of `base`, which must outlive the result.
    pub fn parse_split(bytes: &[u8], base: &LibbpfBtf) -> Option<LibbpfBtf> {
        // SAFETY: as above; `base` is a live libbpf BTF object that the caller keeps alive for
        // as long as the split one (both are dropped by the caller in reverse order).
        let ptr =
            unsafe { libbpf_sys::btf__new_split(bytes.as_ptr() as *const c_void, bytes.len() as u32, base.0.as_ptr()) };
        Self::from_result(ptr)
    }

    fn from_result(ptr: *mut libbpf_sys::btf) -> Option<LibbpfBtf> {
        // libbpf returns NULL (libbpf 1.x) on error, or an ERR_PTR in legacy mode.
        if ptr.is_null() || (ptr as usize) > usize::MAX - 4095 {
            return None;
        }
        NonNull::new(ptr).map(LibbpfBtf)
    }

    /// `btf__find_by_name_kind`: a linear scan in libbpf.
    pub fn find_by_name_kind(&self, name: &str, kind: u32) -> Option<u32> {
        let name = CString::new(name).ok()?;
        // SAFETY: `self.0` is a live BTF object and `name` a NUL-terminated string.
        let id = unsafe { libbpf_sys::btf__find_by_name_kind(self.0.as_ptr(), name.as_ptr(), kind) };
        u32::try_from(id).ok()
    }

    /// `btf__type_cnt`.
    pub fn type_count(&self) -> u32 {
        // SAFETY: `self.0` is a live BTF object.
        unsafe { libbpf_sys::btf__type_cnt(self.0.as_ptr()) }
    }
}

impl Drop for LibbpfBtf {
    fn drop(&mut self) {
        // SAFETY: we own the object and free it exactly once.
        unsafe { libbpf_sys::btf__free(self.0.as_ptr()) }
    }
}
