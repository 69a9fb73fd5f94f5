//! Kernel modules from a Debian modules tree, in load order. Debian's package ships no
//! `modules.dep` (depmod writes it at install time) and busybox `insmod` resolves nothing, so the
//! dependencies come from each module's own `.modinfo` section (`depends=a,b`).

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use object::{Object, ObjectSection};

use crate::error::{Error, Result};

/// The modules of one kernel by name (`-` and `_` are the same to the kernel; names use `_`).
#[derive(Debug)]
pub struct ModuleTree {
    by_name: BTreeMap<String, PathBuf>,
}

impl ModuleTree {
    /// Indexes every `*.ko` under `dir` by module name.
    pub fn scan(dir: &Path) -> Result<ModuleTree> {
        let mut by_name = BTreeMap::new();
        let mut pending = vec![dir.to_owned()];
        while let Some(dir) = pending.pop() {
            let entries = std::fs::read_dir(&dir).map_err(|e| Error::io("read directory", &dir, e))?;
            for entry in entries {
                let path = entry.map_err(|e| Error::io("read directory", &dir, e))?.path();
                if path.is_dir() {
                    pending.push(path);
                } else if let Some(stem) = path.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".ko"))
                {
                    by_name.insert(module_name(stem), path);
                }
            }
        }
        Ok(ModuleTree { by_name })
    }

    /// The file of module `name`.
    pub fn path(&self, name: &str) -> Result<&Path> {
        self.by_name
            .get(&module_name(name))
            .map(PathBuf::as_path)
            .ok_or_else(|| Error::Module { name: name.to_owned(), why: "not in the kernel's modules package".into() })
    }

    /// The files to `insmod`, in order, so that `names` and everything they depend on load:
    /// each module after its dependencies, each once.
    pub fn load_order(&self, names: &[&str]) -> Result<Vec<PathBuf>> {
        let mut order = Vec::new();
        let mut done = HashSet::new();
        for name in names {
            self.visit(&module_name(name), &mut Vec::new(), &mut done, &mut order)?;
        }
        Ok(order)
    }

    fn visit(
        &self,
        name: &str,
        path: &mut Vec<String>,
        done: &mut HashSet<String>,
        order: &mut Vec<PathBuf>,
    ) -> Result<()> {
        if done.contains(name) {
            return Ok(());
        }
        if path.iter().any(|seen| seen == name) {
            path.push(name.to_owned());
            return Err(Error::Module {
                name: name.to_owned(),
                why: format!("dependency cycle {}", path.join(" -> ")),
            });
        }
        let file = self.path(name)?.to_owned();
        path.push(name.to_owned());
        for dep in depends(&file)? {
            self.visit(&dep, path, done, order)?;
        }
        path.pop();
        done.insert(name.to_owned());
        order.push(file);
        Ok(())
    }
}

/// The kernel's spelling of a module name: `nf-conntrack` and `nf_conntrack` are one module.
pub fn module_name(name: &str) -> String {
    name.replace('-', "_")
}

/// The `depends=` list of the `.modinfo` section of module file `file`.
pub fn depends(file: &Path) -> Result<Vec<String>> {
    let bad = |why: String| Error::Module { name: file.display().to_string(), why };
    let bytes = std::fs::read(file).map_err(|e| Error::io("read", file, e))?;
    let elf = object::File::parse(&*bytes).map_err(|e| bad(format!("not an ELF file: {e}")))?;
    let section = elf.section_by_name(".modinfo").ok_or_else(|| bad("no .modinfo section".into()))?;
    let info = section.data().map_err(|e| bad(format!(".modinfo: {e}")))?;
    Ok(modinfo_depends(info))
}

/// The module names in the `depends=` entry of `.modinfo` contents `info` (NUL-separated
/// `key=value` strings); empty when the entry is absent or empty.
pub fn modinfo_depends(info: &[u8]) -> Vec<String> {
    info.split(|&b| b == 0)
        .filter_map(|entry| entry.strip_prefix(b"depends="))
        .flat_map(|list| list.split(|&b| b == b','))
        .filter(|dep| !dep.is_empty())
        .map(|dep| module_name(&String::from_utf8_lossy(dep)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depends_entry_is_split_and_normalised() {
        let info = b"license=GPL\0depends=nf_defrag_ipv4,nf-defrag-ipv6,\0vermagic=7.2\0";
        assert_eq!(modinfo_depends(info), ["nf_defrag_ipv4", "nf_defrag_ipv6"]);
        assert!(modinfo_depends(b"depends=\0name=x\0").is_empty());
        assert!(modinfo_depends(b"").is_empty());
    }
}
