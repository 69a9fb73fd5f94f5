//! A memory mapping of a map fd, unmapped on drop: ring buffers and mmapable arrays are shared
//! with the kernel this way instead of through syscalls per element. Also the two other
//! syscalls shared-memory consumers need: the page size and waiting for readability.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64};

/// An `mmap(2)` region of a BPF map, owned: `munmap` runs on drop.
#[derive(Debug)]
pub(crate) struct MapMmap {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is plain shared memory; every access goes through atomics or bounds-checked
// copies, so moving the owner to another thread is sound.
unsafe impl Send for MapMmap {}

impl MapMmap {
    /// Maps `len` bytes of `fd` at byte `offset`, read-only or read-write, shared.
    pub(crate) fn new(fd: BorrowedFd<'_>, len: usize, offset: usize, writable: bool) -> io::Result<MapMmap> {
        let prot = libc::PROT_READ | if writable { libc::PROT_WRITE } else { 0 };
        let offset = libc::off_t::try_from(offset).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        // SAFETY: a fresh mapping chosen by the kernel (no address hint) aliases no Rust object;
        // the fd is valid for the duration of the call (borrowed).
        let ptr = unsafe { libc::mmap(std::ptr::null_mut(), len, prot, libc::MAP_SHARED, fd.as_raw_fd(), offset) };
        if ptr == libc::MAP_FAILED {
            return Err(super::kernel_error(io::Error::last_os_error()));
        }
        let ptr = NonNull::new(ptr.cast::<u8>()).ok_or_else(|| io::Error::other("mmap returned NULL"))?;
        Ok(MapMmap { ptr, len })
    }

    /// Maps `len` bytes of `fd` read-write and shared at address `addr` exactly, or where the
    /// kernel chooses when `addr` is 0: an arena, whose memory BPF programs see at the address
    /// its definition names. `MAP_FIXED_NOREPLACE`, not libbpf's `MAP_FIXED`: a range already in
    /// use is an error (`EEXIST`), never silently replaced.
    pub(crate) fn new_at(fd: BorrowedFd<'_>, addr: u64, len: usize) -> io::Result<MapMmap> {
        let flags = libc::MAP_SHARED | if addr != 0 { libc::MAP_FIXED_NOREPLACE } else { 0 };
        let hint = usize::try_from(addr).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        // SAFETY: with MAP_FIXED_NOREPLACE the kernel maps only where nothing is mapped (so no
        // Rust object is aliased), and without an address it picks a free range; the fd is valid
        // for the duration of the call (borrowed).
        let ptr = unsafe {
            libc::mmap(hint as *mut libc::c_void, len, libc::PROT_READ | libc::PROT_WRITE, flags, fd.as_raw_fd(), 0)
        };
        if ptr == libc::MAP_FAILED {
            return Err(super::kernel_error(io::Error::last_os_error()));
        }
        let ptr = NonNull::new(ptr.cast::<u8>()).ok_or_else(|| io::Error::other("mmap returned NULL"))?;
        let mapping = MapMmap { ptr, len };
        // Kernels before 4.17 take MAP_FIXED_NOREPLACE as a hint and may map elsewhere.
        if addr != 0 && mapping.address() != addr {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!("mapped at {:#x} instead of {addr:#x}", mapping.address()),
            ));
        }
        Ok(mapping)
    }

    /// The address the mapping starts at.
    pub(crate) fn address(&self) -> u64 {
        self.ptr.as_ptr() as usize as u64
    }

    /// Length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The `u64` at byte `at` (8-aligned, in bounds) as an atomic shared with the kernel.
    pub(crate) fn atomic_u64(&self, at: usize) -> Option<&AtomicU64> {
        if at % 8 != 0 || at.checked_add(8)? > self.len {
            return None;
        }
        // SAFETY: in bounds and 8-aligned (the mapping is page-aligned); the memory stays mapped
        // while `self` lives, and the kernel only accesses it atomically too.
        Some(unsafe { AtomicU64::from_ptr(self.ptr.as_ptr().add(at).cast::<u64>()) })
    }

    /// The `u32` at byte `at` (4-aligned, in bounds) as an atomic shared with the kernel.
    pub(crate) fn atomic_u32(&self, at: usize) -> Option<&AtomicU32> {
        if at % 4 != 0 || at.checked_add(4)? > self.len {
            return None;
        }
        // SAFETY: as in `atomic_u64`, with 4-byte alignment.
        Some(unsafe { AtomicU32::from_ptr(self.ptr.as_ptr().add(at).cast::<u32>()) })
    }

    /// A copy of `len` bytes at `at`; `None` when out of bounds. Copying (rather than handing
    /// out a slice) keeps Rust references away from memory the kernel may write concurrently.
    pub(crate) fn copy(&self, at: usize, len: usize) -> Option<Vec<u8>> {
        if at.checked_add(len)? > self.len {
            return None;
        }
        let mut out = vec![0u8; len];
        // SAFETY: source in bounds of the live mapping, destination a fresh buffer of `len` bytes;
        // the regions cannot overlap.
        unsafe { std::ptr::copy_nonoverlapping(self.ptr.as_ptr().add(at), out.as_mut_ptr(), len) };
        Some(out)
    }
}

impl MapMmap {
    /// Copies `data` to byte `at`; `None` when out of bounds (nothing is written then). The
    /// mapping must be writable.
    pub(crate) fn write(&self, at: usize, data: &[u8]) -> Option<()> {
        if at.checked_add(data.len())? > self.len {
            return None;
        }
        // SAFETY: destination in bounds of the live, writable mapping; the source is a separate
        // Rust slice, so the regions cannot overlap.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), self.ptr.as_ptr().add(at), data.len()) };
        Some(())
    }
}

impl Drop for MapMmap {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly the region mapped in `new`, once; nothing borrows it any more
        // (borrows are tied to `&self`).
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

/// The system page size (the unit of ring buffer sizes and of memory-mapped maps).
pub fn page_size() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size).ok().filter(|&s| s > 0).unwrap_or(4096)
}

/// Waits until `fd` is readable or `timeout_ms` passes (-1: forever); true when readable.
pub(crate) fn poll_readable(fd: BorrowedFd<'_>, timeout_ms: i32) -> io::Result<bool> {
    poll_any_readable(&[fd], timeout_ms)
}

/// Waits until any of `fds` is readable or `timeout_ms` passes (-1: forever); true when one is.
pub(crate) fn poll_any_readable(fds: &[BorrowedFd<'_>], timeout_ms: i32) -> io::Result<bool> {
    let mut pfds: Vec<libc::pollfd> =
        fds.iter().map(|fd| libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 }).collect();
    // SAFETY: `pfds` is a live array of exactly `pfds.len()` pollfds for the duration of the call.
    let n = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, timeout_ms) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n > 0)
}
