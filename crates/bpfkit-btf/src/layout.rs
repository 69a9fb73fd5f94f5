//! The optional layout section: record sizes per kind, so parsers can skip kinds they do not know.
//!
//! Newer kernels and pahole may append a section of `struct btf_layout { u8 info_sz; u8 elem_sz;
//! u16 flags; }`, one entry per kind number, located by the `layout_off`/`layout_len` header
//! fields (present when `hdr_len >= 32`). bpfkit uses it only for kinds it does not know, and
//! checks that it agrees with the kinds it does know.

use crate::endian::Endian;
use crate::error::{BtfError, Result};
use crate::kind::Kind;

/// Size of one `struct btf_layout` entry.
pub const LAYOUT_ENTRY_SIZE: usize = 4;

/// Record sizes of one kind, as a layout section describes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindLayout {
    /// Bytes of fixed data after the 12-byte type header.
    pub info_size: u8,
    /// Bytes per vlen element.
    pub elem_size: u8,
    /// Flags (none defined yet).
    pub flags: u16,
}

/// A validated view of the layout section.
#[derive(Debug, Clone, Copy)]
pub struct Layout<'a> {
    bytes: &'a [u8],
    endian: Endian,
}

impl<'a> Layout<'a> {
    /// Checks the section: whole entries, and entries for known kinds agree with their sizes.
    pub fn parse(bytes: &'a [u8], endian: Endian) -> Result<Layout<'a>> {
        if bytes.len() % LAYOUT_ENTRY_SIZE != 0 {
            return Err(BtfError::BadLayout {
                reason: format!("length {} is not a multiple of {LAYOUT_ENTRY_SIZE}", bytes.len()),
            });
        }
        let layout = Layout { bytes, endian };
        for kind in Kind::ALL {
            if let Some(entry) = layout.get(kind.raw()) {
                if entry.info_size as usize != kind.info_size() || entry.elem_size as usize != kind.elem_size() {
                    return Err(BtfError::BadLayout {
                        reason: format!(
                            "{kind} described as info {} + {} per element, but it is {} + {}",
                            entry.info_size,
                            entry.elem_size,
                            kind.info_size(),
                            kind.elem_size()
                        ),
                    });
                }
            }
        }
        Ok(layout)
    }

    /// The entry for a raw kind number, if the section has one.
    pub fn get(&self, kind: u8) -> Option<KindLayout> {
        let off = kind as usize * LAYOUT_ENTRY_SIZE;
        let entry = self.bytes.get(off..off + LAYOUT_ENTRY_SIZE)?;
        Some(KindLayout { info_size: entry[0], elem_size: entry[1], flags: self.endian.read_u16(entry, 2) })
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.bytes.len() / LAYOUT_ENTRY_SIZE
    }

    /// Whether the section has no entries.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The raw section bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }
}
