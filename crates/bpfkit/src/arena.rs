//! BPF arenas (`BPF_MAP_TYPE_ARENA`, Linux 6.9): memory BPF programs and user space share at the
//! same virtual addresses, so pointers stored in it mean the same on both sides. Kernel and
//! libbpf facts this follows:
//!
//! - `max_entries` counts pages; `map_extra` is the user-space address the arena must be mapped
//!   at (0: wherever the kernel puts it, and the first mapping fixes it). The kernel refuses a
//!   mapping elsewhere (`EBUSY`).
//! - The `__arena` globals (`.addr_space.1`) live inside the arena. libbpf puts them at its
//!   end, so BPF allocations start at the front, where the kernel lets instructions address a
//!   map value at any offset (probed once, as libbpf does); on kernels that limit the offset,
//!   or when the probe cannot tell, they go to the front.
//! - User space touching a page BPF has not allocated gets a fresh zeroed page from the kernel,
//!   unless the arena is `BPF_F_SEGV_ON_FAULT`: then the process gets SIGSEGV. So the loader
//!   refuses to write initial globals into such an arena instead of crashing.

use std::os::fd::AsFd;
use std::sync::OnceLock;

use bpfkit_obj::{Insn, MapDef, insn};

use crate::error::{Error, Result};
use crate::sys::mmap::{MapMmap, page_size};
use crate::sys::{self, MapCreate, MapFd, ProgLoad};

/// `BPF_F_SEGV_ON_FAULT`: user-space faults on pages BPF did not allocate raise SIGSEGV.
const SEGV_ON_FAULT: u32 = 1 << 17;

/// An arena's mapping and where its `__arena` globals start in it.
#[derive(Debug)]
pub(crate) struct ArenaMemory {
    pub mmap: MapMmap,
    /// Byte offset of the globals in the arena.
    pub data_offset: u32,
}

/// Maps arena `map` (created from `def`) at the address its definition names and writes its
/// initial `__arena` globals `data` into it.
pub(crate) fn map(name: &str, fd: &MapFd, def: &MapDef, data: &[u8]) -> Result<ArenaMemory> {
    let page = page_size();
    let len = (def.max_entries as usize).checked_mul(page).ok_or_else(|| Error::MapDefinition {
        map: name.to_owned(),
        why: format!("{} pages do not fit the address space", def.max_entries),
    })?;
    let data_len = data.len().div_ceil(page) * page;
    if data_len > len {
        return Err(Error::MapDefinition {
            map: name.to_owned(),
            why: format!(
                "the arena is {len} bytes ({} pages), too small for its {} bytes of __arena globals",
                def.max_entries,
                data.len()
            ),
        });
    }
    if !data.is_empty() && def.map_flags & SEGV_ON_FAULT != 0 {
        return Err(Error::MapDefinition {
            map: name.to_owned(),
            why: "has __arena globals but is BPF_F_SEGV_ON_FAULT: writing their initial values from user space \
                  would fault (libbpf crashes there)"
                .into(),
        });
    }
    let mmap = MapMmap::new_at(fd.as_fd(), def.map_extra, len).map_err(|source| {
        let at =
            if def.map_extra == 0 { "where the kernel chooses".to_owned() } else { format!("at {:#x}", def.map_extra) };
        Error::MapOp {
            map: name.to_owned(),
            op: if def.map_extra == 0 { "mmap" } else { "mmap at map_extra" },
            source: std::io::Error::new(source.kind(), format!("{at} ({} bytes): {source}", len)),
        }
    })?;
    let data_offset = if data.is_empty() || !full_range_offsets() { 0 } else { len - data_len };
    let data_offset = u32::try_from(data_offset).map_err(|_| Error::MapDefinition {
        map: name.to_owned(),
        why: format!("globals at byte {data_offset} of the arena are beyond what an instruction can address"),
    })?;
    mmap.write(data_offset as usize, data).ok_or_else(|| Error::MapOp {
        map: name.to_owned(),
        op: "write __arena globals",
        source: std::io::Error::other("outside the mapping"),
    })?;
    Ok(ArenaMemory { mmap, data_offset })
}

/// Whether the kernel lets `ld_imm64` address a map value at any offset (the kernel change "do
/// not limit maximum direct offset into arena map"), probed once: a socket filter loading the
/// address 1 GiB into a one-byte array must be refused by the verifier for another reason than
/// the offset. When the probe cannot tell (no verifier log), the answer is no.
fn full_range_offsets() -> bool {
    static PROBED: OnceLock<bool> = OnceLock::new();
    *PROBED.get_or_init(|| {
        let params = MapCreate {
            map_type: bpfkit_obj::MapType::ARRAY.0,
            key_size: 4,
            value_size: 1,
            max_entries: 1,
            name: "bpfkit_probe",
            ..Default::default()
        };
        let Ok(array) = MapFd::create(&params) else { return false };
        let fd = std::os::fd::AsRawFd::as_raw_fd(&array.as_fd());
        let program = [
            Insn::new(insn::LD_IMM64, 1, insn::PSEUDO_MAP_VALUE, 0, fd),
            Insn::new(0, 0, 0, 0, 1 << 30),
            Insn::new(insn::EXIT, 0, 0, 0, 0),
        ];
        let license = c"GPL";
        let load = ProgLoad {
            prog_type: bpfkit_obj::ProgramType::SOCKET_FILTER.0,
            expected_attach_type: 0,
            name: "bpfkit_probe",
            insns: &program,
            license,
            kern_version: 0,
            prog_flags: 0,
            prog_btf_fd: None,
            func_info: &[],
            line_info: &[],
            attach_btf_id: 0,
            attach_btf_obj_fd: None,
            attach_prog_fd: None,
            fd_array: &[],
            prog_ifindex: 0,
        };
        let mut log = vec![0u8; 4096];
        let (result, _) = sys::prog_load(&load, 1, &mut log);
        let text = String::from_utf8_lossy(&log);
        let verified = !text.trim_matches('\0').trim().is_empty();
        result.is_err() && verified && !text.contains("direct value offset of")
    })
}
