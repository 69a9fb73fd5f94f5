//! The BTF header: magic, version, and where the type, string and layout sections are.

use std::ops::Range;

use crate::endian::Endian;
use crate::error::{BtfError, HeaderFault, Result};

/// `BTF_MAGIC`.
pub const MAGIC: u16 = 0xeb9f;
/// Length of the header every kernel understands.
pub const BASE_HEADER_LEN: u32 = 24;
/// Length of the header with the layout-section fields (2026 kernels and newer pahole).
pub const LAYOUT_HEADER_LEN: u32 = 32;

/// A parsed BTF header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Byte order the blob is written in.
    pub endian: Endian,
    /// Header flags (none are defined; must be 0).
    pub flags: u8,
    /// Header length; sections start after it.
    pub hdr_len: u32,
    /// Type section offset relative to the end of the header.
    pub type_off: u32,
    /// Type section length.
    pub type_len: u32,
    /// String section offset relative to the end of the header.
    pub str_off: u32,
    /// String section length.
    pub str_len: u32,
    /// Layout section (`struct btf_layout` per kind), present when `hdr_len >= 32` and its
    /// length is non-zero. Producers that emit kinds unknown to older parsers describe their
    /// record sizes here so those parsers can skip them.
    pub layout_off: u32,
    /// Layout section length.
    pub layout_len: u32,
}

impl Header {
    /// Reads and checks the header of `data`: magic, version, flags, lengths, and that all
    /// sections are in bounds and do not overlap.
    pub fn parse(data: &[u8]) -> Result<Header> {
        if data.len() < BASE_HEADER_LEN as usize {
            return Err(BtfError::TooShort { len: data.len(), need: BASE_HEADER_LEN as usize });
        }
        let endian = match [data[0], data[1]] {
            [0x9f, 0xeb] => Endian::Little,
            [0xeb, 0x9f] => Endian::Big,
            found => return Err(BtfError::BadMagic { found }),
        };
        if data[2] != 1 {
            return Err(BtfError::UnsupportedVersion(data[2]));
        }
        let flags = data[3];
        if flags != 0 {
            return Err(BtfError::BadHeader { reason: HeaderFault::UnknownFlags(flags) });
        }
        let hdr_len = endian.read_u32(data, 4);
        let bad = |reason| BtfError::BadHeader { reason };
        if hdr_len < BASE_HEADER_LEN {
            return Err(bad(HeaderFault::LengthTooSmall(hdr_len)));
        }
        if hdr_len as usize > data.len() {
            return Err(bad(HeaderFault::LengthPastEnd { hdr_len, len: data.len() }));
        }
        if hdr_len % 4 != 0 {
            return Err(bad(HeaderFault::LengthUnaligned { hdr_len }));
        }
        let (layout_off, layout_len) =
            if hdr_len >= LAYOUT_HEADER_LEN { (endian.read_u32(data, 24), endian.read_u32(data, 28)) } else { (0, 0) };
        // Bytes past the fields we read must be zero (a 28-byte header has 4 such bytes).
        let known = if hdr_len >= LAYOUT_HEADER_LEN { LAYOUT_HEADER_LEN } else { BASE_HEADER_LEN } as usize;
        if let Some(pos) = data[known..hdr_len as usize].iter().position(|&b| b != 0) {
            return Err(bad(HeaderFault::UnknownNonZero { offset: known + pos }));
        }
        let header = Header {
            endian,
            flags,
            hdr_len,
            type_off: endian.read_u32(data, 8),
            type_len: endian.read_u32(data, 12),
            str_off: endian.read_u32(data, 16),
            str_len: endian.read_u32(data, 20),
            layout_off,
            layout_len,
        };
        if header.type_off % 4 != 0 {
            return Err(bad(HeaderFault::TypesUnaligned(header.type_off)));
        }
        let available = data.len() - hdr_len as usize;
        let sections = header.sections();
        for (name, off, len) in sections {
            if off as u64 + len as u64 > available as u64 {
                return Err(BtfError::SectionOutOfBounds { section: name, offset: off, len, available });
            }
        }
        for (i, a) in sections.iter().enumerate() {
            for b in &sections[i + 1..] {
                let (a_start, a_end) = (a.1 as u64, a.1 as u64 + a.2 as u64);
                let (b_start, b_end) = (b.1 as u64, b.1 as u64 + b.2 as u64);
                let overlap = a.2 != 0 && b.2 != 0 && a_start < b_end && b_start < a_end;
                if overlap {
                    return Err(BtfError::SectionsOverlap { first: a.0, second: b.0 });
                }
            }
        }
        Ok(header)
    }

    fn sections(&self) -> [(&'static str, u32, u32); 3] {
        [
            ("type", self.type_off, self.type_len),
            ("string", self.str_off, self.str_len),
            ("layout", self.layout_off, self.layout_len),
        ]
    }

    /// Absolute byte range of the type section within the blob.
    pub fn types_range(&self) -> Range<usize> {
        let start = self.hdr_len as usize + self.type_off as usize;
        start..start + self.type_len as usize
    }

    /// Absolute byte range of the string section within the blob.
    pub fn strings_range(&self) -> Range<usize> {
        let start = self.hdr_len as usize + self.str_off as usize;
        start..start + self.str_len as usize
    }

    /// Absolute byte range of the layout section (empty when absent).
    pub fn layout_range(&self) -> Range<usize> {
        let start = self.hdr_len as usize + self.layout_off as usize;
        start..start + self.layout_len as usize
    }
}
