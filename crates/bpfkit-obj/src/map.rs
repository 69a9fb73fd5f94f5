//! Maps as an object declares them: BTF-defined maps in `.maps`, legacy `struct bpf_map_def`s
//! in `maps`, global data sections (each one an array map with one element, as libbpf does), and
//! struct_ops variables. Everything here can be changed before load (sizes, flags, initial data).

use bpfkit_btf::TypeId;

use crate::kernel_name::KernelName;
use crate::kernel_types::MapType;

/// `BPF_F_RDONLY_PROG`: programs may only read the map (`.rodata`).
pub const BPF_F_RDONLY_PROG: u32 = 1 << 7;
/// `BPF_F_MMAPABLE`: the array can be memory-mapped (global data).
pub const BPF_F_MMAPABLE: u32 = 1 << 10;

/// What the kernel is told when the map is created (`BPF_MAP_CREATE`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MapDef {
    /// Map type.
    pub map_type: MapType,
    /// Key size in bytes.
    pub key_size: u32,
    /// Value size in bytes (for map-in-map and program arrays: 4, an fd).
    pub value_size: u32,
    /// Maximum number of entries (for ring buffers: the buffer size in bytes).
    pub max_entries: u32,
    /// `BPF_F_*` creation flags.
    pub map_flags: u32,
    /// NUMA node (with `BPF_F_NUMA_NODE`).
    pub numa_node: u32,
    /// Type-specific extra (bloom filter hash count, arena address).
    pub map_extra: u64,
    /// Pinning requested by the object.
    pub pinning: Pinning,
    /// BTF type of the key in the object's BTF, when declared with `__type(key, ...)`.
    pub btf_key_type: Option<TypeId>,
    /// BTF type of the value in the object's BTF (`__type(value, ...)`, a global data section's
    /// DATASEC, a struct_ops struct).
    pub btf_value_type: Option<TypeId>,
}

impl MapDef {
    /// What the kernel would refuse in this definition for sure, said before asking it; `None`
    /// when it may be created. Checked at load, not at open: user space sizes maps in between
    /// (libbpf's `bpf_map__set_max_entries`), so a `max_entries` of 0 in the object is fine
    /// until then. A perf event array of size 0 is sized by the loader (one slot per CPU), and
    /// storage maps must have 0 (see [`MapType::is_kernel_sized`]).
    pub fn unloadable(&self) -> Option<String> {
        let t = self.map_type;
        if self.max_entries == 0 && !t.is_kernel_sized() && t != MapType::PERF_EVENT_ARRAY {
            let article =
                if t.name().is_some_and(|n| n.starts_with(['A', 'E', 'I', 'L', 'O', 'U'])) { "an" } else { "a" };
            return Some(format!(
                "max_entries is 0, and {article} {t} map needs a size: set it before load (`def.max_entries`)"
            ));
        }
        if self.max_entries != 0 && t.is_kernel_sized() {
            return Some(format!(
                "max_entries is {}, but the kernel sizes {t} maps itself and requires 0",
                self.max_entries
            ));
        }
        let fixed_value = matches!(
            t,
            MapType::RINGBUF
                | MapType::USER_RINGBUF
                | MapType::ARENA
                | MapType::STRUCT_OPS
                | MapType::PERF_EVENT_ARRAY
                | MapType::BLOOM_FILTER
        );
        if self.value_size == 0 && !fixed_value {
            return Some(format!("value size is 0 for a {t} map"));
        }
        None
    }
}

/// The size the kernel accepts for a ring buffer asked to hold `size` bytes: a power-of-two
/// multiple of the page size, the smallest one not below `size` (as libbpf rounds it, so that
/// `__uint(max_entries, 1000)` works). 0 stays 0 (an error to report), and a size no such
/// multiple fits in 32 bits is returned unchanged for the kernel to refuse.
pub fn ring_buffer_size(size: u32, page_size: u32) -> u32 {
    if size == 0 || page_size == 0 {
        return size;
    }
    if size % page_size == 0 && (size / page_size).is_power_of_two() {
        return size;
    }
    let mut bytes = u64::from(page_size);
    while bytes < u64::from(size) {
        bytes *= 2;
    }
    u32::try_from(bytes).unwrap_or(size)
}

/// `__uint(pinning, ...)`: libbpf's `LIBBPF_PIN_NONE` and `LIBBPF_PIN_BY_NAME`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pinning {
    /// Not pinned.
    #[default]
    None,
    /// Pinned at `<pin root>/<map name>` and reused from there when it exists and matches.
    ByName,
}

/// Which kind of declaration a map comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MapKind {
    /// A BTF-defined map in `.maps`.
    Btf,
    /// A `struct bpf_map_def` in the legacy `maps` section.
    Legacy,
    /// A global data section (`.data`, `.rodata`, `.bss`, `.data.*`, `.rodata.*`).
    Data(DataKind),
    /// A variable in `.struct_ops` (`link` false) or `.struct_ops.link` (`link` true), whose
    /// type names the kernel struct_ops type it implements.
    StructOps {
        /// Registered through a BPF link (`.struct_ops.link`).
        link: bool,
        /// The struct type's name in the object (`tcp_congestion_ops`).
        type_name: String,
        /// Function pointer members set to programs of the object.
        funcs: Vec<OpsFunc>,
    },
}

/// The three kinds of global data section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataKind {
    /// `.data`, `.data.*`: initialised, writable.
    Data,
    /// `.rodata`, `.rodata.*`: initialised, read-only for programs, frozen after load.
    Rodata,
    /// `.bss`, `.bss.*`: zero-initialised, writable.
    Bss,
    /// `.kconfig`: the values of `__kconfig` externs, filled in by the loader from the running
    /// kernel's configuration; read-only for programs, frozen after load.
    Kconfig,
}

/// A function pointer member of a struct_ops variable and the program it points to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpsFunc {
    /// The member's name in the object's struct.
    pub member: String,
    /// Its byte offset in the object's struct.
    pub offset: u32,
    /// The program implementing it.
    pub program: String,
}

/// Initial content of one slot of a map-in-map or program array (`__array(values, ...)` with an
/// initializer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotInit {
    /// The slot (array index).
    pub slot: u32,
    /// The map or program it holds, by name.
    pub target: String,
}

/// A map of the object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Map {
    /// The name programs and users know it by: the variable name, or the section name for
    /// global data (`.rodata`, `.data.stats`).
    pub name: String,
    /// The name given to the kernel (at most 15 bytes): the variable name, or for global data
    /// the object's name prefix and the section (`minimal.rodata`), as libbpf names them.
    pub kernel_name: KernelName,
    /// Where it was declared.
    pub kind: MapKind,
    /// How it is created.
    pub def: MapDef,
    /// For map-in-map: the inner map's template (`__array(values, struct inner)`).
    pub inner: Option<Box<MapDef>>,
    /// Slots filled at load time (map-in-map and program array initializers).
    pub slots: Vec<SlotInit>,
    /// Initial value: the section bytes of a global data map (zeros for `.bss`), the struct of
    /// a struct_ops map, the `__arena` globals (`.addr_space.1`) of an arena; empty for other
    /// maps.
    pub data: Vec<u8>,
    /// Load it (false: skipped, and programs using it fail to load).
    pub autocreate: bool,
}

impl Map {
    /// Whether programs can write it: not `.rodata` and not created read-only for programs.
    pub fn is_read_only(&self) -> bool {
        self.def.map_flags & BPF_F_RDONLY_PROG != 0
    }
}

/// The kernel name of a global data map, as libbpf forms it: up to 8 bytes of the object name
/// then the section name, cut to the kernel's 15 visible bytes, with characters the kernel
/// rejects in map names (anything but alphanumerics, `_` and `.`) replaced by `_`.
pub(crate) fn data_map_kernel_name(object: &str, section: &str) -> KernelName {
    if section.starts_with(".data.") || section.starts_with(".rodata.") || section.starts_with(".bss.") {
        // Custom sections: the section alone, so the names stay distinguishable.
        return KernelName::sanitized(section);
    }
    let prefix_len = object.char_indices().nth(8).map_or(object.len(), |(i, _)| i);
    KernelName::from_bytes(object[..prefix_len].bytes().chain(section.bytes()))
}

#[cfg(test)]
mod tests {
    use super::{MapDef, MapType, data_map_kernel_name, ring_buffer_size};

    #[test]
    fn ring_buffers_round_up_to_a_power_of_two_multiple_of_the_page_size() {
        assert_eq!(ring_buffer_size(1000, 4096), 4096);
        assert_eq!(ring_buffer_size(4096, 4096), 4096);
        assert_eq!(ring_buffer_size(4097, 4096), 8192);
        assert_eq!(ring_buffer_size(3 * 4096, 4096), 4 * 4096);
        assert_eq!(ring_buffer_size(256 << 10, 4096), 256 << 10);
        assert_eq!(ring_buffer_size(0, 4096), 0);
        // No power-of-two multiple fits 32 bits: left for the kernel to refuse.
        assert_eq!(ring_buffer_size(u32::MAX - 5, 4096), u32::MAX - 5);
        assert_eq!(ring_buffer_size(1 << 31, 4096), 1 << 31);
    }

    #[test]
    fn unsized_maps_are_named_at_load_and_storage_maps_must_be_unsized() {
        let def = |map_type, max_entries| MapDef { map_type, max_entries, value_size: 8, ..MapDef::default() };
        assert!(def(MapType::TASK_STORAGE, 0).unloadable().is_none());
        assert!(def(MapType::CGROUP_STORAGE_DEPRECATED, 0).unloadable().is_none());
        assert!(def(MapType::PERF_EVENT_ARRAY, 0).unloadable().is_none());
        assert!(def(MapType::HASH, 4).unloadable().is_none());
        let why = def(MapType::HASH, 0).unloadable().unwrap();
        assert!(why.contains("max_entries is 0") && why.contains("HASH"), "{why}");
        assert!(def(MapType::SK_STORAGE, 1).unloadable().unwrap().contains("requires 0"));
        let no_value = MapDef { value_size: 0, ..def(MapType::ARRAY, 1) };
        assert!(no_value.unloadable().unwrap().contains("value size is 0"));
        assert!(MapDef { value_size: 0, ..def(MapType::BLOOM_FILTER, 1) }.unloadable().is_none());
    }

    #[test]
    fn kernel_names_are_cut_and_sanitized_like_libbpf() {
        assert_eq!(data_map_kernel_name("minimal", ".rodata"), "minimal.rodata");
        // Eight bytes of the object name, 15 in all.
        assert_eq!(data_map_kernel_name("a_long_object_name", ".bss"), "a_long_o.bss");
        assert_eq!(data_map_kernel_name("obj", ".data.counters_of_things"), ".data.counters_");
        // One `_` per character the kernel refuses, multi-byte ones included.
        assert_eq!(data_map_kernel_name("café", ".data"), "caf_.data");
    }
}
