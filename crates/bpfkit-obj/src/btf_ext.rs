//! `.BTF.ext`: what clang records per code section beside the types: `func_info` (which BTF
//! FUNC starts at which instruction), `line_info` (source lines) and CO-RE relocations. Offsets
//! in the object are byte offsets within the section; after linking a program they become
//! instruction indexes, which is what `BPF_PROG_LOAD` takes.
//!
//! Layout: a header (`magic 0xeb9f`, version, flags, `hdr_len`, then offset/length pairs relative
//! to the end of the header), and per kind of record: a `u32` record size followed by blocks of
//! `{ section name offset, record count, records }`.

use bpfkit_btf::{Btf, Endian};

use crate::error::{ObjError, Result};

/// A BTF FUNC starting at an instruction; in a linked program, the kernel's
/// `struct bpf_func_info` (so a loader passes a program's records as they are).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct FuncInfo {
    /// Byte offset in its section (in the object), or instruction index (in a linked program).
    pub insn_off: u32,
    /// The FUNC's type id in the object's BTF.
    pub type_id: u32,
}

/// A source line for an instruction; in a linked program, the kernel's `struct bpf_line_info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct LineInfo {
    /// Byte offset in its section (object) or instruction index (linked program).
    pub insn_off: u32,
    /// String offset of the file name.
    pub file_name_off: u32,
    /// String offset of the source line text.
    pub line_off: u32,
    /// Line number (upper 22 bits) and column (lower 10 bits).
    pub line_col: u32,
}

/// A CO-RE relocation record (`struct bpf_core_relo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoreRelo {
    /// Byte offset in its section (object) or instruction index (linked program).
    pub insn_off: u32,
    /// The local (object BTF) type the access starts from.
    pub type_id: u32,
    /// String offset of the access string (`0:1:2`).
    pub access_str_off: u32,
    /// Relocation kind (`enum bpf_core_relo_kind`).
    pub kind: u32,
}

/// The records of one code section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtSection {
    /// `func_info` records, sorted by byte offset.
    pub func_info: Vec<FuncInfo>,
    /// `line_info` records, sorted by byte offset.
    pub line_info: Vec<LineInfo>,
    /// CO-RE relocations, sorted by byte offset.
    pub core_relos: Vec<CoreRelo>,
}

/// A parsed `.BTF.ext` section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BtfExt {
    /// Records by code section name, in the order the section first names them (an object has
    /// a handful of code sections: a list searched by name beats hashing each name).
    pub sections: Vec<(String, ExtSection)>,
}

impl BtfExt {
    /// The records of code section `name`, if it has any.
    pub fn section(&self, name: &str) -> Option<&ExtSection> {
        self.sections.iter().find(|(n, _)| n == name).map(|(_, s)| s)
    }
}

const MAGIC: u16 = 0xeb9f;

struct Reader<'a> {
    bytes: &'a [u8],
    endian: Endian,
}

impl Reader<'_> {
    fn u32(&self, at: usize) -> Result<u32> {
        let raw = at
            .checked_add(4)
            .and_then(|end| self.bytes.get(at..end))
            .ok_or_else(|| ObjError::BtfExt { offset: at, why: "truncated".into() })?;
        let raw = [raw[0], raw[1], raw[2], raw[3]];
        Ok(match self.endian {
            Endian::Little => u32::from_le_bytes(raw),
            Endian::Big => u32::from_be_bytes(raw),
        })
    }
}

impl BtfExt {
    /// Parses `.BTF.ext` bytes; section names are read from `btf`'s strings.
    pub fn parse(bytes: &[u8], btf: &Btf) -> Result<BtfExt> {
        let endian = btf.endian();
        let r = Reader { bytes, endian };
        let err = |offset: usize, why: String| ObjError::BtfExt { offset, why };
        if bytes.len() < 8 {
            return Err(err(0, format!("{} bytes is shorter than the header", bytes.len())));
        }
        let magic = match endian {
            Endian::Little => u16::from_le_bytes([bytes[0], bytes[1]]),
            Endian::Big => u16::from_be_bytes([bytes[0], bytes[1]]),
        };
        if magic != MAGIC {
            return Err(err(0, format!("bad magic {magic:#06x} (expected {MAGIC:#06x} in the BTF's byte order)")));
        }
        if bytes[2] != 1 {
            return Err(err(2, format!("unsupported version {}", bytes[2])));
        }
        let hdr_len = r.u32(4)? as usize;
        // func_info and line_info are mandatory in the header; CO-RE relocations were added later.
        if hdr_len < 24 || hdr_len > bytes.len() {
            return Err(err(4, format!("header length {hdr_len} out of range")));
        }
        let mut ext = BtfExt::default();
        let areas = [(8usize, Area::Func), (16, Area::Line), (24, Area::Core)];
        for (field, area) in areas {
            if field + 8 > hdr_len {
                continue;
            }
            let (off, len) = (r.u32(field)? as usize, r.u32(field + 4)? as usize);
            if len == 0 {
                continue;
            }
            let start = hdr_len.checked_add(off).filter(|&s| s <= bytes.len());
            let end = start.and_then(|s| s.checked_add(len)).filter(|&e| e <= bytes.len());
            let (Some(start), Some(end)) = (start, end) else {
                return Err(err(field, format!("{} area (offset {off}, length {len}) out of bounds", area.name())));
            };
            parse_area(&r, start, end, area, btf, &mut ext)?;
        }
        // By instruction, so that the linker finds a function's records by binary search (the
        // kernel wants func_info and line_info in that order too). clang and libbpf's linker
        // write them so; anything else is put in order here.
        for (_, section) in &mut ext.sections {
            crate::sort::sort_by_key(&mut section.func_info, |r| u128::from(r.insn_off));
            crate::sort::sort_by_key(&mut section.line_info, |r| u128::from(r.insn_off));
            crate::sort::sort_by_key(&mut section.core_relos, |r| u128::from(r.insn_off));
        }
        Ok(ext)
    }
}

#[derive(Clone, Copy)]
enum Area {
    Func,
    Line,
    Core,
}

impl Area {
    fn name(self) -> &'static str {
        match self {
            Area::Func => "func_info",
            Area::Line => "line_info",
            Area::Core => "core_relo",
        }
    }

    /// The record size the kernel and libbpf define; larger records carry fields this crate
    /// does not know and reads past.
    fn min_size(self) -> usize {
        match self {
            Area::Func => 8,
            Area::Line | Area::Core => 16,
        }
    }
}

fn parse_area(r: &Reader<'_>, start: usize, end: usize, area: Area, btf: &Btf, ext: &mut BtfExt) -> Result<()> {
    let err = |offset: usize, why: String| ObjError::BtfExt { offset, why: format!("{}: {why}", area.name()) };
    let rec_size = r.u32(start)? as usize;
    if rec_size < area.min_size() || rec_size % 4 != 0 {
        return Err(err(start, format!("record size {rec_size} (at least {}, a multiple of 4)", area.min_size())));
    }
    let mut at = start + 4;
    while at < end {
        if at + 8 > end {
            return Err(err(at, "truncated block header".into()));
        }
        let name_off = r.u32(at)?;
        let count = r.u32(at + 4)? as usize;
        let name = btf.str_at(name_off).map_err(|e| err(at, format!("section name: {e}")))?;
        let records = at + 8;
        let block_end = count.checked_mul(rec_size).and_then(|n| records.checked_add(n)).filter(|&e| e <= end);
        let Some(block_end) = block_end else {
            return Err(err(at, format!("{count} records of {rec_size} bytes for section {name} overrun the area")));
        };
        let section = match ext.sections.iter().position(|(n, _)| n == name) {
            Some(i) => &mut ext.sections[i].1,
            None => {
                ext.sections.push((name.to_owned(), ExtSection::default()));
                let last = ext.sections.len() - 1;
                &mut ext.sections[last].1
            }
        };
        // The block is in bounds (checked above): decode its records straight from the slice.
        let block = r.bytes.get(records..block_end).unwrap_or_default();
        let e = r.endian;
        let word = |rec: &[u8], k: usize| match rec.get(4 * k..4 * k + 4) {
            Some(&[a, b, c, d]) => match e {
                Endian::Little => u32::from_le_bytes([a, b, c, d]),
                Endian::Big => u32::from_be_bytes([a, b, c, d]),
            },
            _ => 0,
        };
        let recs = block.chunks_exact(rec_size);
        match area {
            Area::Func => {
                section.func_info.extend(recs.map(|rec| FuncInfo { insn_off: word(rec, 0), type_id: word(rec, 1) }))
            }
            Area::Line => section.line_info.extend(recs.map(|rec| LineInfo {
                insn_off: word(rec, 0),
                file_name_off: word(rec, 1),
                line_off: word(rec, 2),
                line_col: word(rec, 3),
            })),
            Area::Core => section.core_relos.extend(recs.map(|rec| CoreRelo {
                insn_off: word(rec, 0),
                type_id: word(rec, 1),
                access_str_off: word(rec, 2),
                kind: word(rec, 3),
            })),
        }
        at = block_end;
    }
    Ok(())
}
