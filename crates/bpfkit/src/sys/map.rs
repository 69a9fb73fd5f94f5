//! Map commands: create, element operations, iteration, freeze.
//!
//! The kernel copies `key_size` bytes from the key pointer and `value_size` bytes (for per-CPU
//! maps: the value rounded up to 8 bytes, times the number of possible CPUs) to or from the
//! value pointer. [`MapFd`] therefore carries the map's sizes and checks every buffer against
//! them before the call: a short buffer is an `InvalidInput` error, never a kernel write past it.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::OnceLock;

use super::uapi::{self, bpf_attr};
use super::{bpf, bpf_fd, object_name, ptr_u64, zeroed_attr};

/// `BPF_MAP_CREATE` parameters (fields of `bpf_attr` for that command).
#[derive(Debug, Clone, Default)]
pub struct MapCreate<'a> {
    /// `BPF_MAP_TYPE_*`.
    pub map_type: u32,
    /// Key size in bytes.
    pub key_size: u32,
    /// Value size in bytes.
    pub value_size: u32,
    /// Maximum entries.
    pub max_entries: u32,
    /// `BPF_F_*` flags.
    pub map_flags: u32,
    /// Template of the inner map (map-in-map).
    pub inner_map_fd: Option<BorrowedFd<'a>>,
    /// NUMA node (with `BPF_F_NUMA_NODE`).
    pub numa_node: u32,
    /// Name the kernel shows (at most 15 bytes are kept).
    pub name: &'a str,
    /// The object's BTF, for typed keys and values.
    pub btf_fd: Option<BorrowedFd<'a>>,
    /// Key type in that BTF.
    pub btf_key_type_id: u32,
    /// Value type in that BTF.
    pub btf_value_type_id: u32,
    /// struct_ops: the kernel's value type (`bpf_struct_ops_<name>`) in kernel BTF.
    pub btf_vmlinux_value_type_id: u32,
    /// Type-specific extra value.
    pub map_extra: u64,
    /// struct_ops of a module: the module's BTF fd (with `BPF_F_VTYPE_BTF_OBJ_FD`).
    pub value_type_btf_obj_fd: Option<BorrowedFd<'a>>,
}

/// An owned map fd with the sizes its element buffers must have.
#[derive(Debug)]
pub struct MapFd {
    fd: OwnedFd,
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    map_flags: u32,
}

/// Map types whose values hold one slot per possible CPU in user space.
fn is_per_cpu(map_type: u32) -> bool {
    matches!(
        map_type,
        uapi::BPF_MAP_TYPE_PERCPU_HASH
            | uapi::BPF_MAP_TYPE_PERCPU_ARRAY
            | uapi::BPF_MAP_TYPE_LRU_PERCPU_HASH
            | uapi::BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE
    )
}

/// The number of possible CPUs (`/sys/devices/system/cpu/possible`), which sizes per-CPU values.
pub fn possible_cpus() -> io::Result<usize> {
    static CPUS: OnceLock<usize> = OnceLock::new();
    if let Some(&n) = CPUS.get() {
        return Ok(n);
    }
    let cpus = read_cpu_list("/sys/devices/system/cpu/possible")?;
    let n = cpus.iter().max().map_or(0, |&h| h as usize + 1);
    Ok(*CPUS.get_or_init(|| n))
}

/// The CPUs of a sysfs CPU list file (`/sys/devices/system/cpu/online`, `.../possible`).
pub(crate) fn read_cpu_list(path: &str) -> io::Result<Vec<u32>> {
    let text = std::fs::read_to_string(path)?;
    parse_cpu_list(text.trim())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("cannot parse {path}: {text:?}")))
}

/// The CPUs of a list such as `0-3,8-11`; `None` when malformed (or absurdly large).
fn parse_cpu_list(list: &str) -> Option<Vec<u32>> {
    let mut cpus = Vec::new();
    for part in list.split(',') {
        let (lo, hi) = part.split_once('-').unwrap_or((part, part));
        let (lo, hi): (u32, u32) = (lo.trim().parse().ok()?, hi.trim().parse().ok()?);
        if hi < lo || hi - lo > 1 << 16 {
            return None;
        }
        cpus.extend(lo..=hi);
    }
    Some(cpus)
}

impl MapFd {
    /// `BPF_MAP_CREATE`.
    pub fn create(def: &MapCreate<'_>) -> io::Result<MapFd> {
        let mut attr: bpf_attr = zeroed_attr();
        // SAFETY: writing fields of a zeroed plain-data union (no reads).
        let a = unsafe { &mut attr.__bindgen_anon_1 };
        a.map_type = def.map_type;
        a.key_size = def.key_size;
        a.value_size = def.value_size;
        a.max_entries = def.max_entries;
        a.map_flags = def.map_flags;
        a.inner_map_fd = def.inner_map_fd.map_or(0, |fd| fd.as_raw_fd() as u32);
        a.numa_node = def.numa_node;
        a.map_name = object_name(def.name);
        a.btf_fd = def.btf_fd.map_or(0, |fd| fd.as_raw_fd() as u32);
        a.btf_key_type_id = def.btf_key_type_id;
        a.btf_value_type_id = def.btf_value_type_id;
        a.btf_vmlinux_value_type_id = def.btf_vmlinux_value_type_id;
        a.map_extra = def.map_extra;
        a.value_type_btf_obj_fd = def.value_type_btf_obj_fd.map_or(0, |fd| fd.as_raw_fd());
        let fd = bpf_fd(uapi::BPF_MAP_CREATE, &mut attr)?;
        Ok(MapFd {
            fd,
            map_type: def.map_type,
            key_size: def.key_size,
            value_size: def.value_size,
            max_entries: def.max_entries,
            map_flags: def.map_flags,
        })
    }

    /// Wraps an existing map fd (pinned, or from another process), reading its sizes from the
    /// kernel (`BPF_OBJ_GET_INFO_BY_FD`).
    pub fn from_fd(fd: OwnedFd) -> io::Result<MapFd> {
        let mut info = uapi::bpf_map_info::default();
        super::obj::obj_info(fd.as_fd(), &mut info)?;
        Ok(MapFd {
            fd,
            map_type: info.type_,
            key_size: info.key_size,
            value_size: info.value_size,
            max_entries: info.max_entries,
            map_flags: info.map_flags,
        })
    }

    /// `BPF_MAP_TYPE_*`.
    pub fn map_type(&self) -> u32 {
        self.map_type
    }

    /// Key size in bytes.
    pub fn key_size(&self) -> u32 {
        self.key_size
    }

    /// Value size in bytes (one CPU's slot for per-CPU maps).
    pub fn value_size(&self) -> u32 {
        self.value_size
    }

    /// Maximum entries.
    pub fn max_entries(&self) -> u32 {
        self.max_entries
    }

    /// Creation flags.
    pub fn map_flags(&self) -> u32 {
        self.map_flags
    }

    /// Whether values hold one slot per possible CPU.
    pub fn is_per_cpu(&self) -> bool {
        is_per_cpu(self.map_type)
    }

    /// Size of a user-space value buffer: the value size, or for per-CPU maps the value rounded
    /// up to 8 bytes times the possible CPUs.
    pub fn value_buf_len(&self) -> io::Result<usize> {
        if self.is_per_cpu() {
            Ok((self.value_size as usize).div_ceil(8) * 8 * possible_cpus()?)
        } else {
            Ok(self.value_size as usize)
        }
    }

    fn check(&self, key: Option<&[u8]>, value: Option<usize>) -> io::Result<()> {
        if let Some(key) = key {
            if key.len() != self.key_size as usize {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("key is {} bytes, the map's keys are {}", key.len(), self.key_size),
                ));
            }
        }
        if let Some(len) = value {
            let need = self.value_buf_len()?;
            if len != need {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("value buffer is {len} bytes, the map needs {need}"),
                ));
            }
        }
        Ok(())
    }

    fn elem_attr(&self, key: &[u8], value: u64, flags: u64) -> bpf_attr {
        let mut attr = zeroed_attr();
        // SAFETY: writing fields of a zeroed plain-data union (no reads).
        let a = unsafe { &mut attr.__bindgen_anon_2 };
        a.map_fd = self.fd.as_raw_fd() as u32;
        // Zero-sized keys (queues, stacks) must be passed as NULL.
        a.key = if key.is_empty() { 0 } else { ptr_u64(key.as_ptr()) };
        a.__bindgen_anon_1.value = value;
        a.flags = flags;
        attr
    }

    /// `BPF_MAP_LOOKUP_ELEM` into `value` (sized [`value_buf_len`](Self::value_buf_len));
    /// `Ok(false)` when the key is absent.
    pub fn lookup(&self, key: &[u8], value: &mut [u8], flags: u64) -> io::Result<bool> {
        self.check(Some(key), Some(value.len()))?;
        let mut attr = self.elem_attr(key, ptr_u64(value.as_mut_ptr()), flags);
        absent_is_false(bpf(uapi::BPF_MAP_LOOKUP_ELEM, &mut attr))
    }

    /// `BPF_MAP_LOOKUP_AND_DELETE_ELEM` (queues and stacks take an empty key).
    pub fn lookup_and_delete(&self, key: &[u8], value: &mut [u8]) -> io::Result<bool> {
        self.check(Some(key), Some(value.len()))?;
        let mut attr = self.elem_attr(key, ptr_u64(value.as_mut_ptr()), 0);
        absent_is_false(bpf(uapi::BPF_MAP_LOOKUP_AND_DELETE_ELEM, &mut attr))
    }

    /// `BPF_MAP_UPDATE_ELEM` with `BPF_ANY`, `BPF_NOEXIST` or `BPF_EXIST` (and `BPF_F_LOCK`).
    pub fn update(&self, key: &[u8], value: &[u8], flags: u64) -> io::Result<()> {
        self.check(Some(key), Some(value.len()))?;
        let mut attr = self.elem_attr(key, ptr_u64(value.as_ptr()), flags);
        bpf(uapi::BPF_MAP_UPDATE_ELEM, &mut attr).map(drop)
    }

    /// `BPF_MAP_DELETE_ELEM`; `Ok(false)` when the key was absent.
    pub fn delete(&self, key: &[u8]) -> io::Result<bool> {
        self.check(Some(key), None)?;
        let mut attr = self.elem_attr(key, 0, 0);
        absent_is_false(bpf(uapi::BPF_MAP_DELETE_ELEM, &mut attr))
    }

    /// `BPF_MAP_GET_NEXT_KEY`: the key after `key` (the first key when `None`) into `next`;
    /// `Ok(false)` at the end.
    pub fn next_key(&self, key: Option<&[u8]>, next: &mut [u8]) -> io::Result<bool> {
        self.check(key, None)?;
        if next.len() != self.key_size as usize {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "next-key buffer size differs from the key size"));
        }
        let mut attr = zeroed_attr();
        // SAFETY: writing fields of a zeroed plain-data union (no reads).
        let a = unsafe { &mut attr.__bindgen_anon_2 };
        a.map_fd = self.fd.as_raw_fd() as u32;
        a.key = key.map_or(0, |k| ptr_u64(k.as_ptr()));
        a.__bindgen_anon_1.next_key = ptr_u64(next.as_mut_ptr());
        absent_is_false(bpf(uapi::BPF_MAP_GET_NEXT_KEY, &mut attr))
    }

    /// `BPF_MAP_FREEZE`: no more writes from user space (`.rodata` after its initial value, so
    /// the verifier can treat it as constant).
    pub fn freeze(&self) -> io::Result<()> {
        let mut attr = zeroed_attr();
        attr.__bindgen_anon_2.map_fd = self.fd.as_raw_fd() as u32;
        bpf(uapi::BPF_MAP_FREEZE, &mut attr).map(drop)
    }

    /// The owned fd.
    pub fn into_fd(self) -> OwnedFd {
        self.fd
    }
}

impl AsFd for MapFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

fn absent_is_false(r: io::Result<i64>) -> io::Result<bool> {
    match r {
        Ok(_) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    /// One past the highest CPU of a list: what per-CPU buffers are sized by.
    fn parse_cpu_count(list: &str) -> Option<usize> {
        super::parse_cpu_list(list).map(|c| c.iter().max().map_or(0, |&h| h as usize + 1))
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_count("0"), Some(1));
        assert_eq!(parse_cpu_count("0-1"), Some(2));
        assert_eq!(parse_cpu_count("0-3,8-11"), Some(12));
        assert_eq!(parse_cpu_count("x"), None);
        assert_eq!(super::parse_cpu_list("0-1,4"), Some(vec![0, 1, 4]));
    }
}
