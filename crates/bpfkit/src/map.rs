//! A map the kernel created for a loaded object: element operations by bytes or by [`Pod`]
//! types, per-CPU values, key iteration, pinning, and ring buffer consumers.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

use bpfkit_obj::{MapKind, MapType};

use crate::error::{Error, Result};
use crate::pin::path_cstring;
use crate::ringbuf::RingBuffer;
use crate::sys::pod::{Pod, bytes_of, from_bytes};
use crate::sys::{self, MapFd, mmap::MapMmap};

/// `BPF_ANY`: create or replace.
pub const BPF_ANY: u64 = 0;
/// `BPF_NOEXIST`: create only.
pub const BPF_NOEXIST: u64 = 1;
/// `BPF_EXIST`: replace only.
pub const BPF_EXIST: u64 = 2;

/// A created map.
#[derive(Debug)]
pub struct Map {
    pub(crate) name: String,
    pub(crate) kind: MapKind,
    pub(crate) fd: MapFd,
    /// Shared mapping of an mmapable global data map (read-only once frozen), or of an arena.
    pub(crate) mmap: Option<MapMmap>,
    /// Where the global variables start in `mmap`: 0, but for an arena, whose `__arena`
    /// globals the loader placed at its end.
    pub(crate) data_base: u32,
    /// Whether it was reused from a pin instead of created.
    pub(crate) reused: bool,
    /// For a struct_ops map: how it registers and the value that registers it.
    pub(crate) struct_ops: Option<StructOpsValue>,
}

/// The kernel value of a struct_ops map.
#[derive(Debug, Clone)]
pub(crate) struct StructOpsValue {
    /// Registered through a BPF link (`.struct_ops.link`).
    pub link: bool,
    /// The wrapper struct with program fds in it.
    pub value: Vec<u8>,
}

impl Map {
    /// Map `m` of the object, just created (or reused) as `fd`: no mapping, no struct_ops value.
    pub(crate) fn created(name: String, kind: &MapKind, fd: MapFd) -> Map {
        Map { name, kind: kind.clone(), fd, mmap: None, data_base: 0, reused: false, struct_ops: None }
    }

    /// The name in the object (`counts`, `.rodata`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What declared it.
    pub fn kind(&self) -> &MapKind {
        &self.kind
    }

    /// The map type.
    pub fn map_type(&self) -> MapType {
        MapType(self.fd.map_type())
    }

    /// Key size in bytes.
    pub fn key_size(&self) -> u32 {
        self.fd.key_size()
    }

    /// Value size in bytes (per CPU for per-CPU maps).
    pub fn value_size(&self) -> u32 {
        self.fd.value_size()
    }

    /// Maximum entries.
    pub fn max_entries(&self) -> u32 {
        self.fd.max_entries()
    }

    /// For an arena: the address its memory is mapped at in this process, the same address BPF
    /// programs see it at (a pointer BPF stores in the arena points here), and its length.
    pub fn arena_region(&self) -> Option<(u64, usize)> {
        match (self.map_type(), &self.mmap) {
            (MapType::ARENA, Some(m)) => Some((m.address(), m.len())),
            _ => None,
        }
    }

    /// Whether it was taken over from a pinned map (`LIBBPF_PIN_BY_NAME`) instead of created.
    pub fn is_reused(&self) -> bool {
        self.reused
    }

    fn op<T>(&self, op: &'static str, r: io::Result<T>) -> Result<T> {
        r.map_err(|source| Error::MapOp { map: self.name.clone(), op, source })
    }

    /// The value at `key` as bytes (for per-CPU maps: every CPU's slot, each rounded up to 8
    /// bytes), `None` when absent.
    pub fn lookup(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let mut value = vec![0u8; self.op("lookup", self.fd.value_buf_len())?];
        let found = self.op("lookup", self.fd.lookup(key, &mut value, 0))?;
        Ok(found.then_some(value))
    }

    /// The value at `key` as a `V`.
    pub fn lookup_as<K: Pod, V: Pod>(&self, key: &K) -> Result<Option<V>> {
        self.check_size::<V>("lookup", self.value_size())?;
        Ok(self.lookup(bytes_of(key))?.and_then(|v| from_bytes(&v)))
    }

    /// A per-CPU map's value at `key`: one `V` per possible CPU.
    pub fn lookup_per_cpu<K: Pod, V: Pod>(&self, key: &K) -> Result<Option<Vec<V>>> {
        self.check_size::<V>("lookup", self.value_size())?;
        if !self.fd.is_per_cpu() {
            return self.op("lookup", Err(io::Error::new(io::ErrorKind::InvalidInput, "not a per-CPU map")));
        }
        let stride = (self.value_size() as usize).div_ceil(8) * 8;
        Ok(self
            .lookup(bytes_of(key))?
            .map(|v| v.chunks_exact(stride).filter_map(|slot| from_bytes::<V>(slot)).collect()))
    }

    /// Sets `key` to `value` (bytes; per-CPU maps take every CPU's slot). `flags`: [`BPF_ANY`],
    /// [`BPF_NOEXIST`] or [`BPF_EXIST`].
    pub fn update(&self, key: &[u8], value: &[u8], flags: u64) -> Result<()> {
        self.op("update", self.fd.update(key, value, flags))
    }

    /// Sets `key` to `value`.
    pub fn update_as<K: Pod, V: Pod>(&self, key: &K, value: &V, flags: u64) -> Result<()> {
        self.update(bytes_of(key), bytes_of(value), flags)
    }

    /// Removes `key`; `false` when it was absent.
    pub fn delete(&self, key: &[u8]) -> Result<bool> {
        self.op("delete", self.fd.delete(key))
    }

    /// Removes `key`.
    pub fn delete_as<K: Pod>(&self, key: &K) -> Result<bool> {
        self.delete(bytes_of(key))
    }

    /// Pops the next element of a queue or stack map.
    pub fn pop(&self) -> Result<Option<Vec<u8>>> {
        let mut value = vec![0u8; self.op("pop", self.fd.value_buf_len())?];
        let found = self.op("pop", self.fd.lookup_and_delete(&[], &mut value))?;
        Ok(found.then_some(value))
    }

    /// Every key, in the kernel's order (a snapshot taken key by key: concurrent changes may
    /// show or hide keys, as with any `BPF_MAP_GET_NEXT_KEY` walk).
    pub fn keys(&self) -> Result<Vec<Vec<u8>>> {
        self.first_keys(usize::MAX)
    }

    /// The first `n` keys in the kernel's iteration order (all of them if there are fewer):
    /// for looking at a big map without walking all of it.
    pub fn first_keys(&self, n: usize) -> Result<Vec<Vec<u8>>> {
        let mut keys: Vec<Vec<u8>> = Vec::new();
        let mut next = vec![0u8; self.key_size() as usize];
        // Bounded: a hash map being refilled concurrently could otherwise loop forever.
        let limit = (self.max_entries() as usize + 1).min(n);
        while keys.len() < limit {
            let more = self.op("next key", self.fd.next_key(keys.last().map(Vec::as_slice), &mut next))?;
            if !more {
                break;
            }
            keys.push(next.clone());
        }
        Ok(keys)
    }

    /// Every key as a `K`.
    pub fn keys_as<K: Pod>(&self) -> Result<Vec<K>> {
        self.check_size::<K>("keys", self.key_size())?;
        Ok(self.keys()?.iter().filter_map(|k| from_bytes(k)).collect())
    }

    /// Pins the map at `path` in a bpffs.
    pub fn pin(&self, path: impl AsRef<Path>) -> Result<()> {
        self.pin_at(&path_cstring(path.as_ref())?)
    }

    /// [`Map::pin`] at a path already in the kernel's form.
    pub(crate) fn pin_at(&self, path: &CStr) -> Result<()> {
        sys::obj_pin(self.fd.as_fd(), path).map_err(|e| {
            let path = crate::pin::as_path(path);
            let hint = crate::pin::hint(path, &e);
            Error::sys(format!("map {}: pin at {}{hint}", self.name, path.display()), e)
        })
    }

    /// A consumer of this `BPF_MAP_TYPE_RINGBUF` map.
    pub fn ring_buffer(&self) -> Result<RingBuffer> {
        if self.map_type() != MapType::RINGBUF {
            return self.op("ring buffer", Err(io::Error::new(io::ErrorKind::InvalidInput, "not a ring buffer map")));
        }
        self.op("ring buffer", RingBuffer::new(self.fd.as_fd(), self.max_entries()))
    }

    /// A consumer of this `BPF_MAP_TYPE_PERF_EVENT_ARRAY` map with `pages` pages (a power of
    /// two) per CPU.
    pub fn perf_buffer(&self, pages: usize) -> Result<crate::perfbuf::PerfBuffer> {
        crate::perfbuf::PerfBuffer::new(self, pages)
    }

    /// Registers a struct_ops map with the kernel: through a BPF link for `.struct_ops.link`
    /// maps (live-swappable with [`Link::update_map`](crate::Link::update_map)), else by writing
    /// its value. Dropping the returned link unregisters it.
    pub fn attach_struct_ops(&self) -> Result<crate::Link> {
        let state = self.struct_ops.as_ref().ok_or_else(|| Error::Attach {
            program: self.name.clone(),
            target: None,
            why: "not a struct_ops map".into(),
        })?;
        let fail = |why: String| Error::Attach { program: self.name.clone(), target: Some("struct_ops".into()), why };
        if state.link {
            let create = sys::LinkCreate {
                prog: self.fd.as_fd(),
                target: sys::LinkTarget::Fd(None),
                attach_type: sys::uapi::BPF_STRUCT_OPS,
                flags: 0,
                iter_info: &[],
                target_btf_id: 0,
            };
            let fd = sys::link_create(&create).map_err(|e| fail(format!("BPF_LINK_CREATE: {e}")))?;
            Ok(crate::Link::new(&self.name, crate::link::LinkKind::Bpf(fd)))
        } else {
            self.write_struct_ops_value().map_err(|e| fail(e.to_string()))?;
            let map = self.fd.as_fd().try_clone_to_owned().map_err(|e| fail(e.to_string()))?;
            Ok(crate::Link::new(&self.name, crate::link::LinkKind::StructOps { map }))
        }
    }

    /// Writes the struct_ops value (element 0).
    pub(crate) fn write_struct_ops_value(&self) -> Result<()> {
        let value = self.struct_ops.as_ref().map(|s| s.value.clone()).unwrap_or_default();
        self.op("register struct_ops", self.fd.update(&0u32.to_ne_bytes(), &value, BPF_ANY))
    }

    fn check_size<T>(&self, op: &'static str, size: u32) -> Result<()> {
        if std::mem::size_of::<T>() == size as usize {
            return Ok(());
        }
        let why = format!("the type is {} bytes, the map's are {size}", std::mem::size_of::<T>());
        self.op(op, Err(io::Error::new(io::ErrorKind::InvalidInput, why)))
    }

    /// Reads `len` bytes at `offset` of element 0 (global data): from the shared mapping when
    /// there is one, else by lookup.
    pub(crate) fn read_data(&self, offset: usize, len: usize) -> Result<Vec<u8>> {
        let bad = || io::Error::new(io::ErrorKind::InvalidInput, "global variable outside the map's value");
        if let Some(m) = &self.mmap {
            let at = offset.checked_add(self.data_base as usize).ok_or_else(bad);
            return self.op("read", m.copy(self.op("read", at)?, len).ok_or_else(bad));
        }
        let value = self.lookup(&0u32.to_ne_bytes())?.unwrap_or_default();
        let end = offset.checked_add(len).ok_or_else(bad);
        let end = self.op("read", end)?;
        self.op("read", value.get(offset..end).map(<[u8]>::to_vec).ok_or_else(bad))
    }

    /// Writes `data` at `offset` of element 0 (global data).
    pub(crate) fn write_data(&self, offset: usize, data: &[u8], writable_mmap: bool) -> Result<()> {
        let bad = || io::Error::new(io::ErrorKind::InvalidInput, "global variable outside the map's value");
        if let (Some(m), true) = (&self.mmap, writable_mmap) {
            let at = offset.checked_add(self.data_base as usize).ok_or_else(bad);
            return self.op("write", m.write(self.op("write", at)?, data).ok_or_else(bad));
        }
        let key = 0u32.to_ne_bytes();
        let mut value = self.lookup(&key)?.unwrap_or_default();
        let slot = offset.checked_add(data.len()).and_then(|end| value.get_mut(offset..end)).ok_or_else(bad);
        self.op("write", slot)?.copy_from_slice(data);
        self.update(&key, &value, BPF_ANY)
    }
}

impl AsFd for Map {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
