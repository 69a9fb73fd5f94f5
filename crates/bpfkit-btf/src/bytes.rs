//! Shared, immutable byte storage that BTF views borrow from.
//!
//! A vmlinux BTF is ~5 MB and every module's split BTF refers back to it, so bpfkit never copies
//! BTF bytes: a [`Btf`](crate::Btf) keeps a cheap handle to the bytes it was parsed from (a heap
//! buffer, a `'static` slice or a memory-mapped file) and hands out views into them.

use std::fs::File;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use crate::error::{BtfError, Result};

enum Owner {
    Heap(Box<[u8]>),
    Static(&'static [u8]),
    Mapped(memmap2::Mmap),
}

impl Owner {
    fn as_slice(&self) -> &[u8] {
        match self {
            Owner::Heap(b) => b,
            Owner::Static(s) => s,
            Owner::Mapped(m) => m,
        }
    }
}

/// A cheaply clonable, immutable window onto bytes owned elsewhere (heap, static or mmap).
///
/// Cloning shares the storage; [`BtfBytes::slice`] narrows the window without copying, which is
/// how the `.BTF` section of an ELF file becomes a BTF blob.
#[derive(Clone)]
pub struct BtfBytes {
    owner: Arc<Owner>,
    range: Range<usize>,
    /// The window's first byte, found once: every type and string access goes through
    /// [`BtfBytes::as_slice`], and finding the bytes through the owner's variants each time
    /// cost more than the rest of a lookup by id.
    start: *const u8,
}

// SAFETY: `start` points into `owner`'s bytes, which are immutable and owned through the `Arc`
// (every `Owner` variant is itself `Send` and `Sync`); the pointer is only ever read through.
unsafe impl Send for BtfBytes {}
// SAFETY: as for `Send`: shared access only reads immutable bytes.
unsafe impl Sync for BtfBytes {}

impl BtfBytes {
    /// The window `range` of `owner` (empty if `range` is not within it).
    fn window(owner: Arc<Owner>, range: Range<usize>) -> Self {
        let (start, range) = match owner.as_slice().get(range.clone()) {
            Some(bytes) => (bytes.as_ptr(), range),
            None => (owner.as_slice().as_ptr(), 0..0),
        };
        BtfBytes { owner, range, start }
    }

    /// Takes ownership of a heap buffer.
    pub fn from_vec(bytes: Vec<u8>) -> Self {
        let len = bytes.len();
        Self::window(Arc::new(Owner::Heap(bytes.into_boxed_slice())), 0..len)
    }

    /// Borrows bytes that live forever (`include_bytes!`, leaked buffers).
    pub fn from_static(bytes: &'static [u8]) -> Self {
        Self::window(Arc::new(Owner::Static(bytes)), 0..bytes.len())
    }

    /// Maps a file read-only, falling back to reading it when it cannot be mapped
    /// (sysfs files on older kernels, pipes, empty files).
    ///
    /// The mapping assumes the file is not modified while mapped, as with any `mmap`: kernel
    /// BTF in sysfs and build artifacts satisfy this.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let io_err = |error| BtfError::Io { path: path.display().to_string(), error };
        let file = File::open(path).map_err(io_err)?;
        let meta = file.metadata().map_err(io_err)?;
        if meta.is_file() && meta.len() > 0 {
            // SAFETY: a private read-only mapping (MAP_PRIVATE: sysfs BTF refuses shared maps); we
            // never create mutable references into it. Modification of the file by another
            // process while mapped would change the bytes under us: the documented contract of
            // this function excludes that.
            if let Ok(map) = unsafe { memmap2::MmapOptions::new().map_copy_read_only(&file) } {
                // sysfs may accept the map but expose fewer bytes than the reported size.
                if map.len() as u64 == meta.len() {
                    let len = map.len();
                    return Ok(Self::window(Arc::new(Owner::Mapped(map)), 0..len));
                }
            }
        }
        let bytes = std::fs::read(path).map_err(io_err)?;
        Ok(Self::from_vec(bytes))
    }

    /// The bytes in this window.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `start` and the range's length were taken from a slice of the owner's bytes
        // (`window`), which `self.owner` keeps alive; they never move (a boxed slice's heap
        // block, a static, a mapping) and are never written.
        unsafe { std::slice::from_raw_parts(self.start, self.range.len()) }
    }

    /// Length of the window.
    pub fn len(&self) -> usize {
        self.range.len()
    }

    /// Whether the window is empty.
    pub fn is_empty(&self) -> bool {
        self.range.is_empty()
    }

    /// A sub-window sharing the same storage; `None` if `range` is not within this window.
    pub fn slice(&self, range: Range<usize>) -> Option<BtfBytes> {
        if range.start > range.end || range.end > self.len() {
            return None;
        }
        let start = self.range.start + range.start;
        Some(Self::window(self.owner.clone(), start..start + range.len()))
    }

    /// Whether the bytes are a memory map (for reporting memory use).
    pub fn is_mapped(&self) -> bool {
        matches!(*self.owner, Owner::Mapped(_))
    }
}

impl From<Vec<u8>> for BtfBytes {
    fn from(v: Vec<u8>) -> Self {
        Self::from_vec(v)
    }
}

impl From<&'static [u8]> for BtfBytes {
    fn from(s: &'static [u8]) -> Self {
        Self::from_static(s)
    }
}

impl std::fmt::Debug for BtfBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BtfBytes({} bytes{})", self.len(), if self.is_mapped() { ", mapped" } else { "" })
    }
}

/// Hints the CPU to bring the cache line holding `bytes[at]` in ahead of use (nothing when
/// `at` is out of bounds or the target has no prefetch instruction).
///
/// Name lookups read names scattered over a multi-megabyte string section; prefetching a few
/// names ahead lets those cache misses overlap instead of queueing one after another.
#[inline(always)]
pub(crate) fn prefetch(bytes: &[u8], at: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(byte) = bytes.get(at) {
        // SAFETY: a prefetch is only a hint: it never faults, reads nothing into the program and
        // writes nothing; the pointer comes from a live reference in any case.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(std::ptr::from_ref(byte).cast())
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (bytes, at);
}
