//! Finding BTF inside ELF files (vmlinux, kernel modules, BPF objects), zero-copy.

use std::ops::Range;

use object::read::elf::{ElfFile32, ElfFile64, FileHeader, SectionHeader};
use object::{Endianness, FileKind};

use crate::endian::Endian;
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

/// A minimal ELF64 relocatable file holding only the given sections (`.BTF`, `.BTF.base`):
/// how distilled module BTF is handed on, readable by [`ModuleFile`](crate::ModuleFile), by
/// this crate's [`Btf::open`](crate::Btf::open) and by `objcopy --dump-section`. Section data
/// starts 8-byte aligned; the byte order is `endian`'s.
pub fn write_sections(endian: Endian, sections: &[(&str, &[u8])]) -> Result<Vec<u8>> {
    const EHDR: usize = 64;
    const SHDR: u64 = 64;
    let too_big = || BtfError::Encode("ELF file exceeds 4 GiB of section names or 65535 sections".into());
    let mut names = vec![0u8];
    let mut name_offs = Vec::new();
    for (name, _) in sections {
        name_offs.push(u32::try_from(names.len()).map_err(|_| too_big())?);
        names.extend_from_slice(name.as_bytes());
        names.push(0);
    }
    let shstrtab_name = u32::try_from(names.len()).map_err(|_| too_big())?;
    names.extend_from_slice(b".shstrtab\0");
    let align = |n: usize| n.div_ceil(8) * 8;
    let mut body = Vec::new();
    let mut placed = Vec::new();
    for (_, data) in sections {
        body.resize(align(body.len()), 0);
        placed.push((EHDR + body.len(), data.len()));
        body.extend_from_slice(data);
    }
    let names_at = EHDR + body.len();
    body.extend_from_slice(&names);
    body.resize(align(body.len()), 0);
    let shoff = EHDR + body.len();
    let shnum = u16::try_from(sections.len() + 2).map_err(|_| too_big())?;

    let e = endian;
    let mut out = Vec::with_capacity(shoff + shnum as usize * SHDR as usize);
    out.extend_from_slice(b"\x7fELF");
    out.push(2); // ELFCLASS64
    out.push(if e == Endian::Little { 1 } else { 2 });
    out.push(1); // EV_CURRENT
    out.resize(16, 0);
    e.put_u16(&mut out, 1); // ET_REL
    e.put_u16(&mut out, 0); // EM_NONE: no code, only data
    e.put_u32(&mut out, 1);
    e.put_u64(&mut out, 0); // entry
    e.put_u64(&mut out, 0); // phoff
    e.put_u64(&mut out, shoff as u64);
    e.put_u32(&mut out, 0); // flags
    e.put_u16(&mut out, EHDR as u16);
    e.put_u16(&mut out, 0); // phentsize
    e.put_u16(&mut out, 0); // phnum
    e.put_u16(&mut out, SHDR as u16);
    e.put_u16(&mut out, shnum);
    e.put_u16(&mut out, shnum - 1); // .shstrtab is last
    out.extend_from_slice(&body);
    let header = |out: &mut Vec<u8>, name: u32, kind: u32, offset: usize, size: usize, align: u64| {
        e.put_u32(out, name);
        e.put_u32(out, kind);
        e.put_u64(out, 0); // flags
        e.put_u64(out, 0); // addr
        e.put_u64(out, offset as u64);
        e.put_u64(out, size as u64);
        e.put_u32(out, 0); // link
        e.put_u32(out, 0); // info
        e.put_u64(out, align);
        e.put_u64(out, 0); // entsize
    };
    header(&mut out, 0, 0, 0, 0, 0);
    for (&name, &(offset, size)) in name_offs.iter().zip(&placed) {
        header(&mut out, name, 1, offset, size, 8); // SHT_PROGBITS
    }
    header(&mut out, shstrtab_name, 3, names_at, names.len(), 1); // SHT_STRTAB
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_sections_are_found_again() {
        for endian in [Endian::Little, Endian::Big] {
            let file = write_sections(endian, &[(BTF_SECTION, b"split"), (BTF_BASE_SECTION, b"base!")]).unwrap();
            assert!(is_elf(&file));
            let btf = section_range(&file, BTF_SECTION).unwrap();
            assert_eq!(&file[btf.clone()], b"split");
            assert_eq!(btf.start % 8, 0);
            assert_eq!(&file[find_section(&file, BTF_BASE_SECTION).unwrap().unwrap()], b"base!");
            assert_eq!(find_section(&file, ".text").unwrap(), None);
        }
    }
}
