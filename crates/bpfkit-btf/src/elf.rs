//! Finding BTF inside ELF files (vmlinux, kernel modules, BPF objects), zero-copy.

use std::ops::Range;

use object::read::elf::{ElfFile32, ElfFile64, FileHeader, SectionHeader};
use object::{Endianness, FileKind};

use crate::error::{BtfError, Result};

/// The section holding a file's BTF.
pub const BTF_SECTION: &str = ".BTF";
/// The section holding a module's distilled base BTF (modules built out of tree, 6.11+).
pub const BTF_BASE_SECTION: &str = ".BTF.base";

/// Whether `data` starts with the ELF magic.
pub fn is_elf(data: &[u8]) -> bool {
    data.starts_with(b"\x7fELF")
}

/// The byte range within `data` of the ELF section `name`.
///
/// Only the section headers are read; the section contents are not copied. Compressed sections
/// are rejected (BTF is never compressed by the kernel build).
pub fn section_range(data: &[u8], name: &'static str) -> Result<Range<usize>> {
    find_section(data, name)?.ok_or(BtfError::NoSection(name))
}

/// Like [`section_range`], but a missing section is `Ok(None)`.
pub fn find_section(data: &[u8], name: &'static str) -> Result<Option<Range<usize>>> {
    match FileKind::parse(data).map_err(|e| BtfError::Elf(e.to_string()))? {
        FileKind::Elf32 => find_in::<object::elf::FileHeader32<Endianness>>(
            ElfFile32::<Endianness>::parse(data).map_err(|e| BtfError::Elf(e.to_string()))?.elf_header(),
            data,
            name,
        ),
        FileKind::Elf64 => find_in::<object::elf::FileHeader64<Endianness>>(
            ElfFile64::<Endianness>::parse(data).map_err(|e| BtfError::Elf(e.to_string()))?.elf_header(),
            data,
            name,
        ),
        other => Err(BtfError::Elf(format!("not an ELF file ({other:?})"))),
    }
}

fn find_in<H: FileHeader<Endian = Endianness>>(
    header: &H,
    data: &[u8],
    name: &'static str,
) -> Result<Option<Range<usize>>> {
    let endian = header.endian().map_err(|e| BtfError::Elf(e.to_string()))?;
    let sections = header.sections(endian, data).map_err(|e| BtfError::Elf(e.to_string()))?;
    let Some((_, section)) = sections.section_by_name(endian, name.as_bytes()) else {
        return Ok(None);
    };
    let flags: u64 = section.sh_flags(endian).into();
    if flags & object::elf::SHF_COMPRESSED as u64 != 0 {
        return Err(BtfError::CompressedSection(name));
    }
    let (offset, size) =
        section.file_range(endian).ok_or_else(|| BtfError::Elf(format!("{name} has no file data (SHT_NOBITS)")))?;
    let start = usize::try_from(offset).map_err(|_| BtfError::Elf(format!("{name} offset too large")))?;
    let len = usize::try_from(size).map_err(|_| BtfError::Elf(format!("{name} size too large")))?;
    let end = start.checked_add(len).filter(|&e| e <= data.len());
    match end {
        Some(end) => Ok(Some(start..end)),
        None => Err(BtfError::Elf(format!(
            "{name} (offset {start}, size {len}) extends past the file's {} bytes",
            data.len()
        ))),
    }
}
