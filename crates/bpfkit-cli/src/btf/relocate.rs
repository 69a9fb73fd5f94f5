//! `bpfkit btf relocate`: a module's BTF moved from its distilled base onto a vmlinux.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use bpfkit_btf::{Btf, BtfError, ModuleFile};

use super::source::running_vmlinux;
use crate::error::CliError;

/// Relocates `module` onto `base` (default: the running vmlinux), prints what was mapped and
/// writes the relocated split BTF to `output`.
pub fn run(
    module: &Path,
    base: Option<&Path>,
    output: Option<&Path>,
    map: bool,
    out: &mut impl Write,
) -> Result<(), CliError> {
    fn load(path: &Path, is_base: bool) -> impl FnOnce(BtfError) -> CliError + '_ {
        move |source| CliError::Load { path: path.to_owned(), is_base, without_base: false, source }
    }
    let file = ModuleFile::open(module).map_err(load(module, false))?;
    if !file.has_distilled_base() {
        return Err(CliError::NotDistilled(module.to_owned()));
    }
    let base_path = base.map(Path::to_owned).or_else(running_vmlinux).ok_or(CliError::NoVmlinux)?;
    let vmlinux = Arc::new(Btf::open(&base_path, None).map_err(load(&base_path, true))?);
    let split = file.btf_on(None).map_err(load(module, false))?;
    let relocation = bpfkit_btf::relocate(&split, vmlinux.clone()).map_err(|source| CliError::Relocate {
        path: module.to_owned(),
        base: base_path.clone(),
        source,
        hint: false,
    })?;
    let btf = relocation.btf();
    writeln!(
        out,
        "{}: {} distilled base types mapped onto {}; {} own types now at ids {}..={}",
        module.display(),
        relocation.distilled_count(),
        base_path.display(),
        btf.own_type_count(),
        btf.first_id(),
        btf.type_count().saturating_sub(1),
    )?;
    if map {
        let distilled = split.base().ok_or(CliError::NotDistilled(module.to_owned()))?;
        for t in distilled.types() {
            // Relocation succeeded, so every distilled type has a base type.
            let to = relocation.base_id_of(t.id()).ok_or(CliError::NotDistilled(module.to_owned()))?;
            let target = vmlinux.type_by_id(to)?;
            writeln!(out, "  {} '{}' [{}] -> {} [{to}]", t.kind(), t.name()?, t.id(), target.kind())?;
        }
    }
    if let Some(path) = output {
        std::fs::write(path, btf.raw_bytes()).map_err(|e| CliError::Write(path.to_owned(), e))?;
        writeln!(out, "wrote {} ({} bytes)", path.display(), btf.raw_bytes().len())?;
    }
    Ok(())
}
