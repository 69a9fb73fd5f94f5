//! Consuming a `BPF_MAP_TYPE_RINGBUF` from user space.
//!
//! The kernel ABI: mapping the map's fd gives, at offset 0, one writable page whose first `u64`
//! is the consumer position, and at offset `page_size`, the read-only producer page (its first
//! `u64` the producer position) followed by the data area mapped twice in a row, so a record
//! that wraps around the end can be read as one contiguous range. Each record starts with an
//! 8-byte header: a `u32` length whose top bits say "still being written" (busy) and
//! "discarded", then a page offset the kernel uses. Records are 8-byte aligned. The consumer
//! reads records between the two positions with acquire loads and publishes its new position
//! with a release store, which frees the space for the producer.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::Ordering;

use crate::sys::mmap::{self, MapMmap, page_size};

/// Set in a record's length while the producer is still writing it.
const BUSY: u32 = 1 << 31;
/// Set in a record's length when the producer discarded it.
const DISCARD: u32 = 1 << 30;
/// Size of a record header.
const HEADER: u64 = 8;

/// A reader of one ring buffer map. It keeps its own fd of the map (duplicated), so it stays
/// valid however long the caller keeps it.
#[derive(Debug)]
pub struct RingBuffer {
    fd: OwnedFd,
    consumer: MapMmap,
    producer: MapMmap,
    mask: u64,
    page: usize,
}

impl RingBuffer {
    /// Maps ring buffer `map` (whose `max_entries`, the data size, is `size`: a power of two and
    /// a multiple of the page size, as the kernel requires).
    pub fn new(map: BorrowedFd<'_>, size: u32) -> io::Result<RingBuffer> {
        let page = page_size();
        let size = size as usize;
        if !size.is_power_of_two() || size % page != 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("ring buffer size {size} is not a power-of-two multiple of the page size"),
            ));
        }
        let fd = map.try_clone_to_owned()?;
        let consumer = MapMmap::new(fd.as_fd(), page, 0, true)?;
        let producer = MapMmap::new(fd.as_fd(), page + 2 * size, page, false)?;
        Ok(RingBuffer { fd, consumer, producer, mask: size as u64 - 1, page })
    }

    /// Calls `f` with each complete record, in order, until the buffer is empty or `f` returns
    /// `false`; returns how many records `f` saw. Discarded records are skipped silently, a
    /// record still being written ends the batch (it is read next time).
    pub fn consume(&mut self, mut f: impl FnMut(&[u8]) -> bool) -> io::Result<usize> {
        let broken = |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("ring buffer: {what}"));
        let cons_pos = self.consumer.atomic_u64(0).ok_or_else(|| broken("consumer page too small"))?;
        let prod_pos = self.producer.atomic_u64(0).ok_or_else(|| broken("producer page too small"))?;
        let mut cons = cons_pos.load(Ordering::Acquire);
        let mut seen = 0;
        loop {
            let prod = prod_pos.load(Ordering::Acquire);
            if cons >= prod {
                break;
            }
            let at = self.page + (cons & self.mask) as usize;
            let header = self.producer.atomic_u32(at).ok_or_else(|| broken("record header outside the mapping"))?;
            let len = header.load(Ordering::Acquire);
            if len & BUSY != 0 {
                break;
            }
            let data_len = (len & !(BUSY | DISCARD)) as u64;
            let total = (data_len + HEADER + 7) & !7;
            if total > self.mask + 1 {
                return Err(broken(&format!("record of {data_len} bytes exceeds the buffer")));
            }
            let keep_going = if len & DISCARD == 0 {
                // The data area is mapped twice: a wrapping record is contiguous here.
                let data = self
                    .producer
                    .copy(at + HEADER as usize, data_len as usize)
                    .ok_or_else(|| broken("record outside the mapping"))?;
                seen += 1;
                f(&data)
            } else {
                true
            };
            cons += total;
            cons_pos.store(cons, Ordering::Release);
            if !keep_going {
                break;
            }
        }
        Ok(seen)
    }

    /// Waits until the kernel signals data (or `timeout_ms` passes; -1 waits forever); true when
    /// data may be ready.
    pub fn wait(&self, timeout_ms: i32) -> io::Result<bool> {
        mmap::poll_readable(self.fd.as_fd(), timeout_ms)
    }

    /// Size of the mapped producer area (page, then the data area twice).
    pub fn mapped_len(&self) -> usize {
        self.producer.len()
    }
}

impl AsFd for RingBuffer {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
