//! Typed errors: every failure names what went wrong and where (type id, byte offset).

use crate::TypeId;
use crate::kind::Kind;

/// Everything that can go wrong while parsing, validating or querying BTF.
///
/// Byte offsets are relative to the start of the BTF blob (the header's first byte), so they
/// can be looked up with a hex dump of the `.BTF` section or of `/sys/kernel/btf/<name>`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BtfError {
    /// The blob is shorter than the fixed part of the header.
    #[error("BTF blob is {len} bytes long, shorter than the {need}-byte header")]
    TooShort {
        /// Length in bytes.
        len: usize,
        /// Bytes needed.
        need: usize,
    },
    /// The first two bytes are not `0xeb9f` in either byte order.
    #[error("bad BTF magic {found:02x?} (expected 0xeb9f in either byte order)")]
    BadMagic {
        /// What was found instead.
        found: [u8; 2],
    },
    /// Only version 1 exists.
    #[error("unsupported BTF version {0} (only version 1 is defined)")]
    UnsupportedVersion(u8),
    /// The header is inconsistent with itself or with the blob.
    #[error("bad BTF header: {reason}")]
    BadHeader {
        /// What is wrong.
        reason: HeaderFault,
    },
    /// A section described by the header does not fit in the blob.
    #[error("BTF {section} section (offset {offset}, length {len}) ends past the blob's {available} data bytes")]
    SectionOutOfBounds {
        /// Which section.
        section: &'static str,
        /// Byte or string offset concerned.
        offset: u32,
        /// Length in bytes.
        len: u32,
        /// Bytes available.
        available: usize,
    },
    /// Two sections described by the header overlap.
    #[error("BTF {first} and {second} sections overlap")]
    SectionsOverlap {
        /// One of the two sections.
        first: &'static str,
        /// The other section.
        second: &'static str,
    },
    /// The string section is malformed.
    #[error("bad BTF string section: {reason}")]
    BadStrings {
        /// What is wrong.
        reason: &'static str,
    },
    /// The layout section (kind sizes, newer kernels) is malformed.
    #[error("bad BTF layout section: {reason}")]
    BadLayout {
        /// What is wrong.
        reason: String,
    },
    /// A type record is malformed.
    #[error("type [{id}] at byte offset {offset}: {fault}")]
    BadType {
        /// The type id concerned.
        id: TypeId,
        /// Byte or string offset concerned.
        offset: usize,
        /// What is wrong with the record.
        fault: TypeFault,
    },
    /// A split BTF's base uses the other byte order.
    #[error("split BTF byte order differs from its base's")]
    EndiannessMismatch,
    /// An id that is neither void, nor in this BTF, nor in its bases.
    #[error("type id {id} is out of range (types are 1..{end}; 0 is void, which has no record)")]
    IdOutOfRange {
        /// The type id concerned.
        id: TypeId,
        /// One past the largest valid value.
        end: u32,
    },
    /// A string offset past the end of this BTF's (and its bases') strings.
    #[error("string offset {offset} is out of range (string bytes: {len})")]
    StringOutOfRange {
        /// Byte or string offset concerned.
        offset: u32,
        /// Length in bytes.
        len: u32,
    },
    /// A name that is not UTF-8 (BTF names are C identifiers, so this means corruption).
    #[error("string at offset {offset} is not valid UTF-8")]
    InvalidUtf8 {
        /// The string's offset.
        offset: u32,
    },
    /// A query hit a type of a kind it cannot handle.
    #[error("type [{id}] is {found:?}, expected {expected}")]
    WrongKind {
        /// The type id concerned.
        id: TypeId,
        /// What was found instead.
        found: Option<Kind>,
        /// What the query needed.
        expected: &'static str,
    },
    /// Following type references went deeper than any real type graph does: a cycle.
    #[error("type [{id}]: reference chain longer than {limit} ({what}); cycle in the type graph?")]
    TooDeep {
        /// The type id concerned.
        id: TypeId,
        /// The depth limit hit.
        limit: u32,
        /// Which chain was followed.
        what: &'static str,
    },
    /// A size computation overflowed (an array of a huge array, say).
    #[error("type [{id}]: size overflows")]
    SizeOverflow {
        /// The type id concerned.
        id: TypeId,
    },
    /// The ELF file could not be read.
    #[error("ELF: {0}")]
    Elf(String),
    /// The ELF file has no section of that name.
    #[error("ELF file has no {0} section")]
    NoSection(&'static str),
    /// The section is compressed (`SHF_COMPRESSED`); BTF sections never are in practice.
    #[error("ELF section {0} is compressed; not supported")]
    CompressedSection(&'static str),
    /// A file could not be read. The I/O error is part of the message, not a separate cause,
    /// so printers of cause chains do not repeat it.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        error: std::io::Error,
    },
    /// A compressed module file could not be decompressed (corrupt, or too large).
    #[error("cannot decompress: {0}")]
    Decompress(String),
    /// Split BTF could not be relocated from its distilled base onto a real base.
    #[error("relocation: {0}")]
    Relocate(#[from] crate::relocate::RelocateError),
    /// Split BTF could not be distilled.
    #[error("distilling: {0}")]
    Distill(#[from] crate::distill::DistillError),
    /// The writer was asked to emit something BTF cannot represent.
    #[error("cannot encode: {0}")]
    Encode(String),
}

/// What is wrong with a BTF header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderFault {
    #[error("hdr_len {0} is smaller than the 24 bytes every BTF header has")]
    /// hdr_len below 24.
    LengthTooSmall(u32),
    #[error("hdr_len {hdr_len} exceeds the blob length {len}")]
    /// hdr_len beyond the blob.
    LengthPastEnd {
        /// The header length field.
        hdr_len: u32,
        /// Length in bytes.
        len: usize,
    },
    #[error("hdr_len {hdr_len} is not a multiple of 4")]
    /// hdr_len not a multiple of 4.
    LengthUnaligned {
        /// The header length field.
        hdr_len: u32,
    },
    #[error("header byte {offset} past the known fields is not zero (unknown header extension)")]
    /// Non-zero bytes in an unknown header extension.
    UnknownNonZero {
        /// Byte or string offset concerned.
        offset: usize,
    },
    #[error("type section offset {0} is not 4-byte aligned")]
    /// Type section not 4-byte aligned.
    TypesUnaligned(u32),
    #[error("flags {0:#x} are not defined")]
    /// Undefined header flags.
    UnknownFlags(u8),
}

/// What is wrong with one type record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TypeFault {
    #[error("record needs {need} bytes but only {available} remain in the type section")]
    /// The record runs past the type section.
    Truncated {
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        available: usize,
    },
    #[error("unknown kind {0} and no layout section describes it")]
    /// A kind number this crate does not know and no layout section describes.
    UnknownKind(u8),
    #[error("kind 0 (UNKN) is not a valid type")]
    /// Kind 0 (UNKN).
    KindZero,
    #[error("{field} refers to type {target}, but only ids below {end} exist")]
    /// A type id past the last type.
    BadTypeRef {
        /// Which field of the record.
        field: &'static str,
        /// The referenced id.
        target: u32,
        /// One past the largest valid value.
        end: u32,
    },
    #[error("{field} offset {offset} is past the string section end {end}")]
    /// A name offset past the strings.
    BadNameOffset {
        /// Which field of the record.
        field: &'static str,
        /// Byte or string offset concerned.
        offset: u32,
        /// One past the largest valid value.
        end: u32,
    },
    #[error("{0}")]
    /// Another structural fault.
    Invalid(&'static str),
}

/// Result alias for this crate.
pub type Result<T, E = BtfError> = std::result::Result<T, E>;
