//! The BTF the benchmark runs on: raw `.BTF` bytes, read up front so that I/O is not measured.

use std::path::{Path, PathBuf};

/// One BTF blob in memory.
pub struct Blob {
    pub name: String,
    /// Raw BTF (header and sections), leaked so bpfkit can borrow it for `'static`.
    pub bytes: &'static [u8],
}

/// Reads a raw BTF file or the `.BTF` section of an ELF file.
pub fn load(path: &Path, name: &str) -> Result<Blob, String> {
    let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let bytes = match bpfkit_btf::elf::find_section(&data, ".BTF") {
        Ok(Some(range)) => data[range].to_vec(),
        Ok(None) => return Err(format!("{}: no .BTF section", path.display())),
        Err(_) => data,
    };
    Ok(Blob { name: name.to_string(), bytes: Box::leak(bytes.into_boxed_slice()) })
}

/// The corpus root: `--corpus`, `$BPFKIT_CORPUS`, or where `scripts/fetch-btf-corpus.sh` puts it.
pub fn root(arg: Option<PathBuf>) -> PathBuf {
    arg.or_else(|| std::env::var_os("BPFKIT_CORPUS").map(PathBuf::from))
        .or_else(|| std::env::var_os("BPFKIT_CACHE").map(|c| PathBuf::from(c).join("corpus")))
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/bpfkit/corpus"))
}

/// Every `.ko` under `dir`, sorted.
pub fn modules(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let p = entry.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "ko") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort();
    out
}
