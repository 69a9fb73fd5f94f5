//! Byte order of a BTF blob and panic-free fixed-width reads.
//!
//! BTF is written in the byte order of the machine that produced it; the magic `0xeb9f` tells
//! which. Reads never panic: a read past the end yields 0, and callers only read within records
//! the validation pass proved complete.

/// Byte order of a BTF blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endian {
    /// Little-endian (x86, arm64 in practice).
    Little,
    /// Big-endian (s390x).
    Big,
}

impl Endian {
    /// The byte order of the machine we run on.
    pub const NATIVE: Endian = if cfg!(target_endian = "big") { Endian::Big } else { Endian::Little };

    /// Reads a `u32` at `off`, 0 if out of bounds.
    #[inline(always)]
    pub fn read_u32(self, bytes: &[u8], off: usize) -> u32 {
        match bytes.get(off..off.wrapping_add(4)) {
            Some(&[a, b, c, d]) => match self {
                Endian::Little => u32::from_le_bytes([a, b, c, d]),
                Endian::Big => u32::from_be_bytes([a, b, c, d]),
            },
            _ => 0,
        }
    }

    /// Reads a `u16` at `off`, 0 if out of bounds.
    #[inline(always)]
    pub fn read_u16(self, bytes: &[u8], off: usize) -> u16 {
        match bytes.get(off..off.wrapping_add(2)) {
            Some(&[a, b]) => match self {
                Endian::Little => u16::from_le_bytes([a, b]),
                Endian::Big => u16::from_be_bytes([a, b]),
            },
            _ => 0,
        }
    }

    /// Appends `v` in this byte order.
    #[inline]
    pub fn put_u32(self, out: &mut Vec<u8>, v: u32) {
        out.extend_from_slice(&match self {
            Endian::Little => v.to_le_bytes(),
            Endian::Big => v.to_be_bytes(),
        });
    }

    /// `v`'s bytes in this byte order.
    #[inline]
    pub fn u32_bytes(self, v: u32) -> [u8; 4] {
        match self {
            Endian::Little => v.to_le_bytes(),
            Endian::Big => v.to_be_bytes(),
        }
    }

    /// Appends `v` in this byte order.
    #[inline]
    pub fn put_u64(self, out: &mut Vec<u8>, v: u64) {
        out.extend_from_slice(&match self {
            Endian::Little => v.to_le_bytes(),
            Endian::Big => v.to_be_bytes(),
        });
    }

    /// Appends `v` in this byte order.
    #[inline]
    pub fn put_u16(self, out: &mut Vec<u8>, v: u16) {
        out.extend_from_slice(&match self {
            Endian::Little => v.to_le_bytes(),
            Endian::Big => v.to_be_bytes(),
        });
    }
}
