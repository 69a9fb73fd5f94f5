//! Consuming a `BPF_MAP_TYPE_PERF_EVENT_ARRAY` from user space: the older way programs stream
//! events (`bpf_perf_event_output`), still used by many tools.
//!
//! The kernel ABI: one `bpf-output` software perf event per CPU (`PERF_COUNT_SW_BPF_OUTPUT`,
//! sampling `PERF_SAMPLE_RAW`), its fd stored in the map at that CPU's index. Each event's fd is
//! mapped: a metadata page (`struct perf_event_mmap_page`, whose `data_head` the kernel advances
//! and whose `data_tail` the reader publishes) followed by a power-of-two data ring. Records are
//! `struct perf_event_header` (`type`, `misc`, `size`) then a body: for `PERF_RECORD_SAMPLE` a
//! `u32` size and the program's bytes, for `PERF_RECORD_LOST` an id and the number of samples
//! the kernel dropped because the ring was full. Records may wrap around the ring's end.

use std::mem::offset_of;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::Ordering;

use bpfkit_obj::MapType;

use crate::error::{Error, Result};
use crate::map::{BPF_ANY, Map};
use crate::sys::mmap::{self, MapMmap, page_size};
use crate::sys::uapi::{self, perf_event_mmap_page};
use crate::sys::{self, PerfEventAttr};

/// What one [`PerfBuffer::consume`] call saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PerfConsumed {
    /// Samples handed to the callback.
    pub samples: usize,
    /// Samples the kernel reported lost (the ring was full).
    pub lost: u64,
}

/// One CPU's event and its mapped ring.
#[derive(Debug)]
struct CpuRing {
    cpu: u32,
    event: OwnedFd,
    mmap: MapMmap,
    data_at: usize,
    data_size: usize,
}

/// A reader of a perf event array map: one ring per online CPU.
#[derive(Debug)]
pub struct PerfBuffer {
    map: String,
    rings: Vec<CpuRing>,
}

impl PerfBuffer {
    /// Opens one ring of `pages` pages (a power of two) per online CPU for `map` and puts the
    /// events in the map.
    pub fn new(map: &Map, pages: usize) -> Result<PerfBuffer> {
        let fail = |why: String| Error::MapOp {
            map: map.name().to_owned(),
            op: "perf buffer",
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, why),
        };
        if map.map_type() != MapType::PERF_EVENT_ARRAY {
            return Err(fail("not a perf event array map".into()));
        }
        if !pages.is_power_of_two() {
            return Err(fail(format!("{pages} pages per CPU: must be a power of two")));
        }
        let sys_err = |op: String| move |e: std::io::Error| Error::sys(op, e);
        let cpus = sys::read_cpu_list("/sys/devices/system/cpu/online")
            .map_err(sys_err("/sys/devices/system/cpu/online".into()))?;
        let page = page_size();
        let mut rings = Vec::new();
        for cpu in cpus {
            if cpu >= map.max_entries() {
                // The array has no slot for this CPU (libbpf sizes it to the CPU count).
                continue;
            }
            let attr = PerfEventAttr {
                type_: uapi::PERF_TYPE_SOFTWARE,
                config: u64::from(uapi::PERF_COUNT_SW_BPF_OUTPUT),
                sample_type: u64::from(uapi::PERF_SAMPLE_RAW),
                sample_period: 1,
                wakeup_events: 1,
                ..Default::default()
            };
            let event = sys::perf_event_open(&attr, -1, cpu as i32)
                .map_err(sys_err(format!("perf_event_open on CPU {cpu}")))?;
            let mmap = MapMmap::new(event.as_fd(), page * (pages + 1), 0, true)
                .map_err(sys_err(format!("mmap of the CPU {cpu} perf ring")))?;
            let meta_u64 = |at: usize| mmap.atomic_u64(at).map(|a| a.load(Ordering::Acquire) as usize);
            // Kernels since 4.1 say where the data area is; older ones put it after the page.
            let (data_at, data_size) = match (
                meta_u64(offset_of!(perf_event_mmap_page, data_offset)),
                meta_u64(offset_of!(perf_event_mmap_page, data_size)),
            ) {
                (Some(at), Some(size)) if size != 0 => (at, size),
                _ => (page, page * pages),
            };
            if !data_size.is_power_of_two() || data_at.checked_add(data_size).is_none_or(|end| end > mmap.len()) {
                return Err(fail(format!(
                    "CPU {cpu}: kernel reports a data area {data_at}+{data_size} outside the mapping"
                )));
            }
            let fd = event.as_raw_fd() as u32;
            map.update(&cpu.to_ne_bytes(), &fd.to_ne_bytes(), BPF_ANY)?;
            sys::perf_event_ioc_enable(event.as_fd()).map_err(sys_err(format!("enable perf event on CPU {cpu}")))?;
            rings.push(CpuRing { cpu, event, mmap, data_at, data_size });
        }
        Ok(PerfBuffer { map: map.name().to_owned(), rings })
    }

    /// Waits until some ring has data (or `timeout_ms` passes; -1 waits forever); true when
    /// data may be ready.
    pub fn wait(&self, timeout_ms: i32) -> Result<bool> {
        let fds: Vec<_> = self.rings.iter().map(|r| r.event.as_fd()).collect();
        mmap::poll_any_readable(&fds, timeout_ms).map_err(|e| Error::sys(format!("poll perf buffer {}", self.map), e))
    }

    /// Calls `f(cpu, sample)` for every sample in every ring, oldest first per CPU, and frees
    /// the space they took. A sample is the program's bytes followed by up to 7 bytes of padding:
    /// the kernel pads samples so records stay 8-byte aligned and reports the padded size (as
    /// libbpf passes it on too).
    pub fn consume(&mut self, mut f: impl FnMut(u32, &[u8])) -> Result<PerfConsumed> {
        let mut seen = PerfConsumed::default();
        for ring in &self.rings {
            ring.drain(&mut f, &mut seen).map_err(|why| Error::MapOp {
                map: self.map.clone(),
                op: "perf buffer",
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, why),
            })?;
        }
        Ok(seen)
    }
}

impl CpuRing {
    /// Copies `len` bytes at ring position `pos` (which may wrap).
    fn read(&self, pos: usize, len: usize) -> Option<Vec<u8>> {
        let start = pos & (self.data_size - 1);
        let first = len.min(self.data_size - start);
        let mut out = self.mmap.copy(self.data_at + start, first)?;
        if first < len {
            out.extend(self.mmap.copy(self.data_at, len - first)?);
        }
        Some(out)
    }

    fn drain(&self, f: &mut impl FnMut(u32, &[u8]), seen: &mut PerfConsumed) -> std::result::Result<(), String> {
        let head_at = offset_of!(perf_event_mmap_page, data_head);
        let tail_at = offset_of!(perf_event_mmap_page, data_tail);
        let head = self.mmap.atomic_u64(head_at).ok_or("metadata page too small")?.load(Ordering::Acquire);
        let tail_cell = self.mmap.atomic_u64(tail_at).ok_or("metadata page too small")?;
        let mut tail = tail_cell.load(Ordering::Relaxed);
        if head.wrapping_sub(tail) > self.data_size as u64 {
            return Err(format!("CPU {}: head {head} is more than a ring ahead of tail {tail}", self.cpu));
        }
        while tail < head {
            let header = self.read(tail as usize, 8).ok_or("record header outside the mapping")?;
            let kind = u32::from_ne_bytes([header[0], header[1], header[2], header[3]]);
            let size = u16::from_ne_bytes([header[6], header[7]]) as u64;
            if size < 8 || tail + size > head {
                return Err(format!("CPU {}: record of {size} bytes at {tail} overruns the data ({head})", self.cpu));
            }
            let body = self.read(tail as usize + 8, size as usize - 8).ok_or("record outside the mapping")?;
            match kind {
                uapi::PERF_RECORD_SAMPLE => {
                    let raw = body.get(..4).map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as usize);
                    let data = raw.and_then(|n| body.get(4..4 + n)).ok_or("sample shorter than its size")?;
                    seen.samples += 1;
                    f(self.cpu, data);
                }
                uapi::PERF_RECORD_LOST => {
                    let lost = body.get(8..16).ok_or("lost record too short")?;
                    seen.lost += u64::from_ne_bytes(lost.try_into().map_err(|_| "lost record too short")?);
                }
                _ => {}
            }
            tail += size;
            tail_cell.store(tail, Ordering::Release);
        }
        Ok(())
    }
}
