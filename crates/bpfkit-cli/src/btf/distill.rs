//! `bpfkit btf distill`: a module's split BTF cut loose from the exact vmlinux it was built on.

use std::io::Write;
use std::path::{Path, PathBuf};

use bpfkit_btf::elf::{BTF_BASE_SECTION, BTF_SECTION, write_sections};

use super::source;
use crate::Source;
use crate::error::CliError;

/// Distills the source's split BTF and writes the result to `output` (an ELF file with `.BTF`
/// and `.BTF.base`, or with `raw` two raw blobs: `output` and `output.base`).
pub fn run(source: &Source, output: &Path, raw: bool, out: &mut impl Write) -> Result<(), CliError> {
    let loaded = source::load(source)?;
    if !loaded.btf.is_split() {
        return Err(CliError::NotSplit(loaded.path));
    }
    let distilled = bpfkit_btf::distill(&loaded.btf)?;
    let (split, base) = (distilled.split.raw_bytes(), distilled.base.raw_bytes());
    let write =
        |path: &Path, bytes: &[u8]| std::fs::write(path, bytes).map_err(|e| CliError::Write(path.to_owned(), e));
    if raw {
        let mut base_path = output.as_os_str().to_owned();
        base_path.push(".base");
        let base_path = PathBuf::from(base_path);
        write(output, split)?;
        write(&base_path, base)?;
        writeln!(
            out,
            "wrote {} (split, {} bytes) and {} (distilled base, {} bytes)",
            output.display(),
            split.len(),
            base_path.display(),
            base.len()
        )?;
    } else {
        let file = write_sections(distilled.split.endian(), &[(BTF_SECTION, split), (BTF_BASE_SECTION, base)])?;
        write(output, &file)?;
        writeln!(
            out,
            "wrote {} (ELF with {BTF_SECTION} and {BTF_BASE_SECTION}, {} bytes)",
            output.display(),
            file.len()
        )?;
    }
    let copied = distilled.split.own_type_count() - loaded.btf.own_type_count();
    writeln!(
        out,
        "{}: {} own types; distilled base of {} types ({} bytes) for the {} base types they use; {copied} base types copied into the split BTF",
        loaded.path.display(),
        loaded.btf.own_type_count(),
        distilled.base.own_type_count(),
        base.len(),
        distilled.base.own_type_count() + copied,
    )?;
    Ok(())
}
