//! Kernel module files as distributions ship them: `.ko`, or compressed `.ko.xz`, `.ko.zst`,
//! `.ko.gz` (told apart by their magic, not their name), decompressed in memory with pure-Rust
//! decoders and bounded in size, so a corrupted or hostile file cannot make us allocate without
//! limit. The module's BTF is its `.BTF` section, split BTF on the vmlinux it was built
//! against; modules built with a distilled base also carry `.BTF.base`, a small standalone BTF
//! the split part refers to instead of vmlinux.

use std::io::{Read, Write};
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use crate::btf::Btf;
use crate::bytes::BtfBytes;
use crate::elf::{self, BTF_BASE_SECTION, BTF_SECTION};
use crate::error::{BtfError, Result};

/// The most a module may decompress to (the largest Debian module is about 40 MiB).
pub const MAX_MODULE_SIZE: usize = 512 << 20;

/// How a module file is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// A plain ELF file.
    None,
    /// xz (`FD 37 7A 58 5A 00`).
    Xz,
    /// zstd (`28 B5 2F FD`).
    Zstd,
    /// gzip (`1F 8B`).
    Gzip,
}

impl Compression {
    /// The compression `data` starts with, `None` for anything else (an ELF file, or not).
    pub fn detect(data: &[u8]) -> Compression {
        if data.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
            Compression::Xz
        } else if data.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else if data.starts_with(&crate::gzip::MAGIC) {
            Compression::Gzip
        } else {
            Compression::None
        }
    }
}

/// A `Write` that refuses to grow past `MAX_MODULE_SIZE`.
struct Bounded(Vec<u8>);

impl Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0.len() + buf.len() > MAX_MODULE_SIZE {
            return Err(std::io::Error::other(format!("decompresses to more than {MAX_MODULE_SIZE} bytes")));
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn bounded_read(mut r: impl Read) -> std::io::Result<Vec<u8>> {
    let mut out = Bounded(Vec::new());
    std::io::copy(&mut r.by_ref().take(MAX_MODULE_SIZE as u64 + 1), &mut out)?;
    Ok(out.0)
}

/// Decompresses `data` if it is xz, zstd or gzip; returns it unchanged otherwise.
pub fn decompress(data: Vec<u8>) -> Result<Vec<u8>> {
    let what = |e: std::io::Error, kind: &str| BtfError::Decompress(format!("{kind}: {e}"));
    match Compression::detect(&data) {
        Compression::None => Ok(data),
        Compression::Xz => {
            let mut out = Bounded(Vec::new());
            lzma_rs::xz_decompress(&mut data.as_slice(), &mut out)
                .map_err(|e| BtfError::Decompress(format!("xz: {e}")))?;
            Ok(out.0)
        }
        Compression::Zstd => {
            let decoder = ruzstd::decoding::StreamingDecoder::new(data.as_slice())
                .map_err(|e| BtfError::Decompress(format!("zstd: {e}")))?;
            bounded_read(decoder).map_err(|e| what(e, "zstd"))
        }
        Compression::Gzip => {
            crate::gzip::decompress(&data, MAX_MODULE_SIZE).map_err(|e| BtfError::Decompress(format!("gzip: {e}")))
        }
    }
}

/// A kernel module file, decompressed, with where its BTF sections are.
#[derive(Debug, Clone)]
pub struct ModuleFile {
    bytes: BtfBytes,
    btf: Range<usize>,
    base: Option<Range<usize>>,
    compression: Compression,
    file_len: usize,
}

impl ModuleFile {
    /// Reads a module file (plain or compressed).
    pub fn open(path: impl AsRef<Path>) -> Result<ModuleFile> {
        let path = path.as_ref();
        let data = std::fs::read(path).map_err(|error| BtfError::Io { path: path.display().to_string(), error })?;
        ModuleFile::from_bytes(data)
    }

    /// A module from its file's bytes (plain or compressed).
    pub fn from_bytes(data: Vec<u8>) -> Result<ModuleFile> {
        let (compression, file_len) = (Compression::detect(&data), data.len());
        let data = decompress(data)?;
        if !elf::is_elf(&data) {
            return Err(BtfError::Elf("not an ELF file (nor xz, zstd or gzip)".into()));
        }
        let btf = elf::section_range(&data, BTF_SECTION)?;
        let base = elf::find_section(&data, BTF_BASE_SECTION)?;
        Ok(ModuleFile { bytes: BtfBytes::from_vec(data), btf, base, compression, file_len })
    }

    /// How the file was compressed.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// The file's length as read (compressed).
    pub fn file_len(&self) -> usize {
        self.file_len
    }

    /// The kernel release the module was built for: the first word of `vermagic=` in its
    /// `.modinfo` section (`7.2.13+deb14-amd64`).
    pub fn kernel_release(&self) -> Option<String> {
        let range = elf::find_section(self.bytes.as_slice(), ".modinfo").ok()??;
        let info = self.bytes.as_slice().get(range)?;
        info.split(|&b| b == 0).find_map(|entry| {
            let v = entry.strip_prefix(b"vermagic=")?;
            let release = v.split(|&b| b == b' ').next()?;
            std::str::from_utf8(release).ok().map(str::to_owned)
        })
    }

    /// Whether the module carries a distilled base (`.BTF.base`): its BTF must then be
    /// relocated onto the real vmlinux before its ids mean anything there.
    pub fn has_distilled_base(&self) -> bool {
        self.base.is_some()
    }

    /// The raw `.BTF` section (split BTF).
    pub fn btf_bytes(&self) -> BtfBytes {
        self.bytes.slice(self.btf.clone()).unwrap_or_else(|| BtfBytes::from_vec(Vec::new()))
    }

    /// The raw `.BTF.base` section, if any.
    pub fn base_bytes(&self) -> Option<BtfBytes> {
        self.base.clone().and_then(|r| self.bytes.slice(r))
    }

    /// The distilled base, parsed as standalone BTF.
    pub fn distilled_base(&self) -> Result<Option<Btf>> {
        self.base_bytes().map(Btf::parse).transpose()
    }

    /// The module's BTF as split BTF on `base`, the vmlinux it was built against. A module with
    /// a distilled base is split on that base instead (its own types then refer to the distilled
    /// types, not to `base`'s): relocating it onto a real vmlinux is a separate step. Without
    /// either, the split BTF is parsed standalone, which fails for any real module (its ids and
    /// names point into a base).
    pub fn btf_on(&self, base: Option<Arc<Btf>>) -> Result<Btf> {
        match (self.distilled_base()?, base) {
            (Some(distilled), _) => Btf::parse_split(self.btf_bytes(), Arc::new(distilled)),
            (None, Some(base)) => Btf::parse_split(self.btf_bytes(), base),
            (None, None) => Btf::parse(self.btf_bytes()),
        }
    }

    /// The module's BTF as it means on `base`, a real vmlinux: relocated from the distilled base
    /// when the module has one (what the kernel does when it loads the module), else split on
    /// `base` directly (which must then be the vmlinux the module was built against).
    pub fn btf_relocated_on(&self, base: Arc<Btf>) -> Result<Btf> {
        match self.distilled_base()? {
            Some(distilled) => {
                let split = Btf::parse_split(self.btf_bytes(), Arc::new(distilled))?;
                Ok(crate::relocate(&split, base)?.into_btf())
            }
            None => Btf::parse_split(self.btf_bytes(), base),
        }
    }
}
