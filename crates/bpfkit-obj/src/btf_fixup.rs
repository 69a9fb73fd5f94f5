//! The object's BTF as the kernel will accept it. clang leaves DATASEC sizes and variable offsets
//! at 0 in object files (the linker would fill them in); the kernel checks both against the
//! section, so they are set here from the ELF section sizes and symbol values, and each
//! DATASEC's variables are ordered by offset as the kernel requires.

use bpfkit_btf::{BtfBuilder, Kind, RecordData};

use crate::error::{ObjError, Result};
use crate::object::Object;

impl Object {
    /// The object's BTF with DATASECs completed, encoded for `BPF_BTF_LOAD`; `None` when the
    /// object has no BTF. DATASECs of sections the file does not have (`.ksyms`, `.kconfig`:
    /// externs) are left as clang wrote them.
    pub fn btf_for_kernel(&self) -> Result<Option<Vec<u8>>> {
        let Some(btf) = &self.btf else { return Ok(None) };
        let mut builder = BtfBuilder::from_btf(btf);
        for ty in btf.types() {
            if ty.kind() != Kind::Datasec {
                continue;
            }
            let name = ty.name().map_err(ObjError::Btf)?;
            let Some(layout) = self.section_layout.get(name) else { continue };
            let size = u32::try_from(layout.size).map_err(|_| ObjError::section(name, "too large for BTF"))?;
            let mut named = Vec::new();
            if let Some(record) = builder.record_mut(ty.id()) {
                if let RecordData::Datasec { vars, .. } = &record.data {
                    for var in vars {
                        let var_name = btf.type_by_id(var.ty).and_then(|t| t.name()).map_err(ObjError::Btf)?;
                        named.push((var_name.to_owned(), *var));
                    }
                }
            }
            let mut fixed = Vec::with_capacity(named.len());
            for (var_name, mut var) in named {
                let Some(&offset) = layout.symbols.get(&var_name) else {
                    return Err(ObjError::Symbol {
                        symbol: var_name,
                        section: name.to_owned(),
                        why: "declared in the section's BTF DATASEC but not in the ELF symbol table".into(),
                    });
                };
                var.offset = u32::try_from(offset)
                    .map_err(|_| ObjError::section(name, format!("{var_name} offset too large")))?;
                if var.offset.checked_add(var.size).is_none_or(|end| end > size) {
                    return Err(ObjError::Symbol {
                        symbol: var_name,
                        section: name.to_owned(),
                        why: format!("{} bytes at offset {} overrun the section ({size} bytes)", var.size, var.offset),
                    });
                }
                fixed.push(var);
            }
            fixed.sort_by_key(|v| v.offset);
            if let Some(record) = builder.record_mut(ty.id()) {
                record.data = RecordData::Datasec { size, vars: fixed };
            }
        }
        builder.encode().map(Some).map_err(ObjError::Btf)
    }
}
