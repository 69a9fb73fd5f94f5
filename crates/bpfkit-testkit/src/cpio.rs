//! An initramfs image: a `newc` cpio archive, uncompressed (the kernel unpacks it as is).
//! Parent directories are added automatically and every entry gets mtime 0, so the same inputs
//! give the same bytes.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

const DIR: u32 = 0o040_755;
const SYMLINK: u32 = 0o120_777;
const FILE: u32 = 0o100_000;

/// An archive being written to a file.
pub struct Cpio {
    out: BufWriter<File>,
    path: PathBuf,
    dirs: BTreeSet<String>,
    next_ino: u32,
}

impl Cpio {
    /// Starts an archive at `path` (truncated).
    pub fn create(path: &Path) -> Result<Cpio> {
        let file = File::create(path).map_err(|e| Error::io("create", path, e))?;
        Ok(Cpio { out: BufWriter::new(file), path: path.to_owned(), dirs: BTreeSet::new(), next_ino: 1 })
    }

    /// Adds directory `name` (and its parents).
    pub fn dir(&mut self, name: &str) -> Result<()> {
        let name = name.trim_matches('/');
        if name.is_empty() || self.dirs.contains(name) {
            return Ok(());
        }
        if let Some((parent, _)) = name.rsplit_once('/') {
            self.dir(parent)?;
        }
        self.dirs.insert(name.to_owned());
        self.entry(name, DIR, 2, &[])
    }

    /// Adds a file `name` with permission bits `perm` holding `data`.
    pub fn bytes(&mut self, name: &str, perm: u32, data: &[u8]) -> Result<()> {
        self.parents(name)?;
        self.entry(name.trim_start_matches('/'), FILE | (perm & 0o7777), 1, data)
    }

    /// Adds a file `name` with permission bits `perm` holding the contents of host file `src`.
    pub fn file(&mut self, name: &str, perm: u32, src: &Path) -> Result<()> {
        let data = std::fs::read(src).map_err(|e| Error::io("read", src, e))?;
        self.bytes(name, perm, &data)
    }

    /// Adds symbolic link `name` pointing at `target`.
    pub fn symlink(&mut self, name: &str, target: &str) -> Result<()> {
        self.parents(name)?;
        self.entry(name.trim_start_matches('/'), SYMLINK, 1, target.as_bytes())
    }

    /// Writes the trailer and flushes the file.
    pub fn finish(mut self) -> Result<()> {
        let path = self.path.clone();
        self.write_entry("TRAILER!!!", 0, 1, &[], 0)
            .and_then(|()| self.out.flush())
            .map_err(|e| Error::io("write", &path, e))
    }

    fn parents(&mut self, name: &str) -> Result<()> {
        match name.trim_matches('/').rsplit_once('/') {
            Some((parent, _)) => self.dir(parent),
            None => Ok(()),
        }
    }

    fn entry(&mut self, name: &str, mode: u32, nlink: u32, data: &[u8]) -> Result<()> {
        let ino = self.next_ino;
        self.next_ino += 1;
        self.write_entry(name, mode, nlink, data, ino).map_err(|e| Error::io("write", &self.path, e))
    }

    fn write_entry(&mut self, name: &str, mode: u32, nlink: u32, data: &[u8], ino: u32) -> io::Result<()> {
        let size = u32::try_from(data.len()).map_err(|_| io::Error::other(format!("{name}: over 4 GiB")))?;
        let name_size = name.len() + 1;
        let fields = [ino, mode, 0, 0, nlink, 0, size, 0, 0, 0, 0, name_size as u32, 0];
        let mut header = String::with_capacity(110);
        header.push_str("070701");
        for field in fields {
            header.push_str(&format!("{field:08x}"));
        }
        self.out.write_all(header.as_bytes())?;
        self.out.write_all(name.as_bytes())?;
        self.out.write_all(&[0])?;
        self.pad(110 + name_size)?;
        self.out.write_all(data)?;
        self.pad(data.len())
    }

    /// Zero bytes up to the next multiple of 4 after `len` bytes.
    fn pad(&mut self, len: usize) -> io::Result<()> {
        self.out.write_all(&[0; 3][..(4 - len % 4) % 4])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_aligned_and_parents_come_first() {
        let path = std::env::temp_dir().join(format!("bpfkit-cpio-test-{}", std::process::id()));
        let mut cpio = Cpio::create(&path).unwrap();
        cpio.bytes("/a/b/hello", 0o644, b"hi!").unwrap();
        cpio.symlink("bin/sh", "busybox").unwrap();
        cpio.finish().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();

        let mut names = Vec::new();
        let mut at = 0;
        loop {
            assert_eq!(&bytes[at..at + 6], b"070701", "header at {at}");
            let field = |i: usize| u32::from_str_radix(std::str::from_utf8(&bytes[at + 6 + 8 * i..][..8]).unwrap(), 16);
            let (size, name_size) = (field(6).unwrap() as usize, field(11).unwrap() as usize);
            let name = std::str::from_utf8(&bytes[at + 110..at + 110 + name_size - 1]).unwrap().to_owned();
            let data_at = (at + 110 + name_size).next_multiple_of(4);
            if name == "hello" || name == "a/b/hello" {
                assert_eq!(&bytes[data_at..data_at + size], b"hi!");
            }
            at = (data_at + size).next_multiple_of(4);
            names.push(name);
            if names.last().is_some_and(|n| n == "TRAILER!!!") {
                break;
            }
        }
        assert_eq!(at, bytes.len());
        assert_eq!(names, ["a", "a/b", "a/b/hello", "bin", "bin/sh", "TRAILER!!!"]);
    }
}
