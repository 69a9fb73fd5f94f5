//! The BTF the benchmark runs on: raw `.BTF` bytes read up front, so I/O is never measured.

use std::path::{Path, PathBuf};

/// One BTF blob in memory.
pub struct Blob {
    /// Shown in tables and errors.
    pub label: String,
    /// The file it came from (the memory child re-reads it).
    pub path: PathBuf,
    /// Raw BTF (header and sections), leaked once so bpfkit can borrow it for `'static`
    /// (bpfkit is zero-copy: passing a `Vec` would only hand over ownership, but a `&'static`
    /// keeps every timed iteration identical without a copy).
    pub bytes: &'static [u8],
}

/// Reads a raw BTF file (such as `/sys/kernel/btf/vmlinux`) or the `.BTF` section of an ELF
/// file (vmlinux, `.ko`), found with [`bpfkit_btf::elf::find_section`].
pub fn load(path: &Path, label: impl Into<String>) -> Result<Blob, String> {
    let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let bytes = if bpfkit_btf::elf::is_elf(&data) {
        match bpfkit_btf::elf::find_section(&data, bpfkit_btf::elf::BTF_SECTION) {
            Ok(Some(range)) => data[range].to_vec(),
            Ok(None) => return Err(format!("{}: ELF file without a .BTF section", path.display())),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        }
    } else {
        data
    };
    Ok(Blob { label: label.into(), path: path.to_path_buf(), bytes: Box::leak(bytes.into_boxed_slice()) })
}

/// The corpus root: `--corpus DIR`, else `$BPFKIT_CORPUS`, else where
/// `scripts/fetch-btf-corpus.sh` puts it (`${BPFKIT_CACHE:-$HOME/.cache/bpfkit}/corpus`).
pub fn root(arg: Option<PathBuf>) -> PathBuf {
    arg.or_else(|| std::env::var_os("BPFKIT_CORPUS").map(PathBuf::from))
        .or_else(|| std::env::var_os("BPFKIT_CACHE").map(|c| PathBuf::from(c).join("corpus")))
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/bpfkit/corpus"))
}

/// A kernel of the corpus (`<root>/<name>/vmlinux`) if the fetch script completed it: its
/// `VERSION` (e.g. `7.2.13+deb14-amd64`) and directory. `Err` says why it is not usable.
pub fn kernel(root: &Path, name: &str) -> Result<(String, PathBuf), String> {
    let dir = root.join(name);
    if !dir.join(".complete").exists() {
        return Err(format!("{} is missing or incomplete (run scripts/fetch-btf-corpus.sh)", dir.display()));
    }
    let version =
        std::fs::read_to_string(dir.join("VERSION")).map_err(|e| format!("{}/VERSION: {e}", dir.display()))?;
    Ok((version.trim().to_string(), dir))
}

/// Every `.ko` under `dir`, sorted.
pub fn modules(dir: &Path) -> Result<Vec<PathBuf>, String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                walk(&path, out)?;
            } else if path.extension().is_some_and(|e| e == "ko") {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, &mut out).map_err(|e| format!("{}: {e}", dir.display()))?;
    out.sort();
    Ok(out)
}
